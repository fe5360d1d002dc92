"""The load generator: its statistics on known numbers, and a small matrix against the served tiny model."""

from __future__ import annotations

import json

import pytest

from fcray.bench.loadgen import RequestResult, make_prompt, percentile, run_matrix, summarize_cell, write_csv
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
    assert row["ttft_p50_s"] == pytest.approx(0.2) and row["tpot_p50_s"] == pytest.approx(0.02)
    assert row["ttft_p99_s"] == pytest.approx(0.298) and row["tpot_p99_s"] == pytest.approx(0.0298)
    assert row["e2e_p95_s"] == pytest.approx(1.95)
    assert row["output_tokens_per_s"] == pytest.approx(5.0) and row["requests_per_s"] == pytest.approx(0.5)
    assert row["measured_prompt_tokens"] == 50 and row["meets_slo"] is False  # an error fails the SLO
    assert row["errors_by_type"] == {"APIConnectionError": 1} and row["input_tokens_per_s"] == pytest.approx(25.0)


def test_rows_go_to_csv_with_the_headline_columns_first(tmp_path):
    rows = [summarize_cell([RequestResult(True, None, 0.1, 1.0, [0.01], 50, 10)], 1, 48, 1.0),
            {"prompt_tokens": 4096, "concurrency": None, "skipped": "exceeds the context"}]
    write_csv(rows, tmp_path / "results.csv")
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert lines[0].startswith("prompt_tokens,concurrency,requests,errors,ttft_p50_s,ttft_p95_s,ttft_p99_s,tpot_p50_s")
    assert len(lines) == 3 and "exceeds the context" in lines[2]


def test_prompt_is_sized_by_the_tokenizer():
    def count(text):  # a tokenizer that splits words in two
        return 2 * len(text.split())

    assert abs(count(make_prompt(200, count)) - 200) <= 4

    def bounded(text):  # a server whose context is 300 tokens: longer texts are refused (None)
        n = 4 * len(text.split())
        return None if n > 300 else n

    assert abs(bounded(make_prompt(280, bounded)) - 280) <= 6  # first guesses overshoot, then it backs off


@pytest.mark.slow
def test_a_small_matrix_against_the_served_model(served, tmp_path):
    from fcray.eval.report import plot_load_test

    deployment = served[0]
    config = BenchConfig(concurrency=[1, 2], prompt_lengths=[32, 128, 2000], requests_per_cell=4,
                         max_seconds_per_cell=120, warmup_requests=1, max_tokens=8)
    rows = run_matrix(deployment.url, deployment.model_id, config, tmp_path / "results.json")
    assert [(r["prompt_tokens"], r["concurrency"]) for r in rows] == [(32, 1), (32, 2), (128, 1), (128, 2), (2000, None)]
    assert "exceed the model's context of 1024" in rows[-1]["skipped"]  # the served fixture's max_model_len
    for row in rows[:-1]:
        assert row["errors"] == 0 and row["requests"] == 4
        assert 0 < row["ttft_p50_s"] <= row["e2e_p50_s"] and row["output_tokens_per_s"] > 0
        # the chat template and the tools' schemas add tokens around the user's text
        assert row["prompt_tokens"] < row["measured_prompt_tokens"] <= row["prompt_tokens"] + 400
    assert json.loads((tmp_path / "results.json").read_text()) == rows
    assert (tmp_path / "results.csv").read_text().count("\n") == len(rows) + 1
    assert plot_load_test(rows, tmp_path / "load_test.png")
    assert (tmp_path / "load_test.png").read_bytes()[:4] == b"\x89PNG"


def test_sweep_report_has_the_pareto_front_and_the_choice():
    from fcray.bench.sweep import pareto_front, sweep_report

    trials = [  # (seqs, tokens): fast but slow-to-first-token, balanced, dominated, failed
        {"max_num_seqs": 16, "max_num_batched_tokens": 4096, "score": 0.0, "output_tokens_per_s": 300.0,
         "ttft_p95_s": 3.0, "e2e_p95_s": 5.0, "errors": 0, "meets_slo": False},
        {"max_num_seqs": 4, "max_num_batched_tokens": 2048, "score": 200.0, "output_tokens_per_s": 200.0,
         "ttft_p95_s": 0.5, "e2e_p95_s": 2.0, "errors": 0, "meets_slo": True},
        {"max_num_seqs": 2, "max_num_batched_tokens": 2048, "score": 100.0, "output_tokens_per_s": 100.0,
         "ttft_p95_s": 0.8, "e2e_p95_s": 2.5, "errors": 0, "meets_slo": True},
        {"max_num_seqs": 64, "max_num_batched_tokens": 8192, "error": "engine failed to start"},
    ]
    front = pareto_front(trials)
    assert [(t["max_num_seqs"], t["max_num_batched_tokens"]) for t in front] == [(4, 2048), (16, 4096)]
    summary = {"slo_ttft_p95_ms": 1000, "concurrency": 8, "prompt_tokens": 256, "trials": trials, "best": trials[1]}
    report = sweep_report(summary)
    assert ("Pareto front (TTFT P95 vs tokens/s): (max_num_seqs=4, max_num_batched_tokens=2048); "
            "(max_num_seqs=16, max_num_batched_tokens=4096)") in report
    assert "Chosen: max_num_seqs=4, max_num_batched_tokens=2048 —" in report and "failed: engine failed" in report
    assert "| max_num_seqs | max_num_batched_tokens | output tok/s |" in report  # kv_cache_memory_bytes not swept
    assert "1 of 4 trials failed" in report


def test_sweep_report_shows_every_swept_setting():
    from fcray.bench.sweep import sweep_report

    trial = {"max_num_seqs": 4, "max_num_batched_tokens": 2048, "kv_cache_memory_bytes": 67108864, "score": 9.0,
             "output_tokens_per_s": 9.0, "ttft_p95_s": 0.5, "e2e_p95_s": 2.0, "errors": 0, "meets_slo": True}
    report = sweep_report({"slo_ttft_p95_ms": 1000, "concurrency": 8, "prompt_tokens": 256, "trials": [trial],
                           "best": trial})
    assert "| max_num_seqs | max_num_batched_tokens | kv_cache_memory_bytes | output tok/s |" in report
    assert "| 4 | 2048 | 67108864 | 9.0 |" in report
    assert "Chosen: max_num_seqs=4, max_num_batched_tokens=2048, kv_cache_memory_bytes=67108864 —" in report
    assert "failed" not in report


@pytest.mark.parametrize("text, expected", [
    ("plain message", "plain message"),
    ('Traceback (most recent call last):\n  File "x.py", line 3, in f\n    g()\n'
     "RuntimeError: sweep-1: DEPLOY_FAILED: the deployment failed to start\n"
     'Traceback (most recent call last):\n  File "y.py", line 9\n'
     "ValueError: To serve at least one request (2.0 GiB KV cache is needed)",
     "RuntimeError: sweep-1: DEPLOY_FAILED: the deployment failed to start | "
     "ValueError: To serve at least one request (2.0 GiB KV cache is needed)"),
    ("RuntimeError: engine: ValueError: KV cache too small | RuntimeError: Engine core initialization failed\n"
     "RuntimeError: Deploying application sweep-1 failed",
     "engine: ValueError: KV cache too small | RuntimeError: Engine core initialization failed | "
     "RuntimeError: Deploying application sweep-1 failed"),
    ("ray.exceptions.RayTaskError(RuntimeError): x\nRuntimeError: x\nRuntimeError: x", "ray.exceptions.RayTaskError(RuntimeError): x | RuntimeError: x"),
])
def test_a_failed_trial_keeps_the_exception_lines_not_the_frames(text, expected):
    from fcray.bench.sweep import trial_error

    assert trial_error(RuntimeError(text)) == expected


def _fault_bench(**fields):
    return BenchConfig(**{"concurrency": [2], "prompt_lengths": [64], "requests_per_cell": 12,
                          "max_seconds_per_cell": 60, "warmup_requests": 0, "max_tokens": 4, **fields})


def test_every_injected_fault_is_counted_by_type_and_no_request_is_lost(tmp_path):
    """Against a server that fails requests the ways real ones do: each kind is its own error type (a stream
    cut after tokens arrived apart from a request that never got an answer), every request is accounted
    for, a slow first token shows in TTFT, and the cell's row is written."""
    from tests.fault_server import GARBAGE, HTTP_500, MID_STREAM, OK, RESET, SLOW, TRUNCATED, FaultServer

    plan = [OK, HTTP_500, RESET, MID_STREAM, TRUNCATED, GARBAGE, SLOW]
    with FaultServer(stream_plan=plan, slow_s=0.3) as server:
        (row,) = run_matrix(server.url, server.model, _fault_bench(request_timeout_s=10, requests_per_cell=14),
                            tmp_path / "r.json", log=lambda *_: None)
    assert row["requests"] == 14 and row["errors"] == 10
    assert row["errors_by_type"] == {"InternalServerError": 2, "APIConnectionError": 2,
                                     "APIConnectionError after the first token": 2, "IncompleteStream": 2,
                                     "JSONDecodeError after the first token": 2}
    assert row["ttft_p95_s"] >= 0.25 and row["output_tokens_per_s"] > 0  # the slow ones, and the 4 that worked
    assert [fault for streaming, fault in server.served if streaming].count(OK) == 2
    assert json.loads((tmp_path / "r.json").read_text()) == [row]


def test_a_first_token_past_the_timeout_is_a_timeout_error_not_a_hang():
    import time

    from tests.fault_server import SLOW, FaultServer

    with FaultServer(stream_plan=[SLOW], slow_s=3) as server:
        start = time.perf_counter()
        (row,) = run_matrix(server.url, server.model, _fault_bench(requests_per_cell=2, request_timeout_s=0.5),
                            log=lambda *_: None)
    assert row["errors_by_type"] == {"APITimeoutError": 2} and time.perf_counter() - start < 5
