"""The load generator: its statistics on known numbers, and a small matrix against the served tiny model."""

from __future__ import annotations

import json

import pytest

from fcray.bench.loadgen import RequestResult, make_prompt, percentile, run_matrix, summarize_cell
from fcray.config import BenchConfig


@pytest.mark.parametrize("values,q,expected", [
    ([1.0], 95, 1.0),
    ([1.0, 2.0, 3.0, 4.0, 5.0], 50, 3.0),
    ([1.0, 2.0, 3.0, 4.0, 5.0], 95, 4.8),
    ([5.0, 1.0, 3.0], 0, 1.0),
    ([], 50, None),
])
def test_percentile(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected) if expected is not None else percentile(values, q) is None


def test_cell_summary_counts_errors_and_throughput():
    results = [RequestResult(True, None, 0.1, 1.0, [0.01, 0.03], 50, 10),
               RequestResult(True, None, 0.3, 2.0, [0.02], 50, 10),
               RequestResult(False, "APIConnectionError: refused")]
    row = summarize_cell(results, concurrency=2, prompt_tokens=48, seconds=4.0, slo_ttft_p95_ms=250)
    assert row["requests"] == 3 and row["errors"] == 1 and row["error_examples"] == ["APIConnectionError: refused"]
    assert row["ttft_p50_s"] == pytest.approx(0.2) and row["itl_p50_s"] == pytest.approx(0.02)
    assert row["output_tokens_per_s"] == pytest.approx(5.0) and row["requests_per_s"] == pytest.approx(0.5)
    assert row["measured_prompt_tokens"] == 50 and row["meets_slo"] is False  # an error fails the SLO


def test_prompt_is_sized_by_the_tokenizer():
    def count(text):  # a tokenizer that splits words in two
        return 2 * len(text.split())

    assert abs(count(make_prompt(200, count)) - 200) <= 4


@pytest.mark.slow
def test_a_small_matrix_against_the_served_model(served, tmp_path):
    from fcray.eval.report import plot_load_test

    deployment = served[0]
    config = BenchConfig(concurrency=[1, 2], prompt_lengths=[32, 128], requests_per_cell=4, max_seconds_per_cell=120,
                         warmup_requests=1, max_tokens=8)
    rows = run_matrix(deployment.url, deployment.model_id, config, tmp_path / "results.json")
    assert [(r["prompt_tokens"], r["concurrency"]) for r in rows] == [(32, 1), (32, 2), (128, 1), (128, 2)]
    for row in rows:
        assert row["errors"] == 0 and row["requests"] == 4
        assert 0 < row["ttft_p50_s"] <= row["e2e_p50_s"] and row["output_tokens_per_s"] > 0
        # the chat template adds a few tokens around the user's text
        assert row["prompt_tokens"] <= row["measured_prompt_tokens"] <= row["prompt_tokens"] + 40
    assert json.loads((tmp_path / "results.json").read_text()) == rows
    assert plot_load_test(rows, tmp_path / "load_test.png")
    assert (tmp_path / "load_test.png").read_bytes()[:4] == b"\x89PNG"
