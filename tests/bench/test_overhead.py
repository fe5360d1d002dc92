"""What Serve costs at one setting (fcray.bench.overhead): the bare server it is compared with runs the Serve
engine's settings, and the sweep's report says what was measured, or why nothing was. No Ray here: the
measurement itself runs in tests/bench/test_sweep.py."""

from __future__ import annotations

import pytest

from fcray.bench.overhead import bare_server_spec, ratios, split_ttft
from fcray.bench.sweep import overhead_report, sweep_report
from fcray.config import load_config
from fcray.eval.vllm_server import command


@pytest.mark.parametrize("overrides, has, lacks", [
    (["serve.engine.max_num_seqs=8", "serve.engine.max_num_batched_tokens=4096"],
     ["--max-num-seqs 8", "--max-num-batched-tokens 4096", "--kv-cache-memory-bytes 268435456", "--enforce-eager"],
     ["--gpu-memory-utilization"]),
    (["serve.engine.gpus=1", "serve.engine.enforce_eager=false", "serve.engine.gpu_memory_utilization=0.5",
      "serve.engine.max_num_seqs=64", "serve.engine.max_num_batched_tokens=8192"],
     ["--gpu-memory-utilization 0.5", "--max-num-seqs 64"], ["--kv-cache-memory-bytes", "--enforce-eager"]),
    (["decoding.constrained=true"],  # the app's structured-outputs backend, bound in its engine
     ['--structured-outputs-config {"backend": "guidance"}'], ["--gpu-memory-utilization"]),
])
def test_the_bare_server_runs_the_serve_engines_settings(overrides, has, lacks):
    config = load_config("tiny", overrides=overrides)
    spec = bare_server_spec(config, "/models/m", host="10.0.0.5")
    line = " ".join(command(spec, 8001))
    assert "--host 10.0.0.5 --port 8001" in line and f"--max-model-len {config.serve.engine.max_model_len}" in line
    assert f"--served-model-name {config.serve.model_id}" in line
    assert "--enable-auto-tool-choice --tool-call-parser hermes" in line
    if config.serve.reasoning_parser:  # replies split as the app's are
        assert f"--reasoning-parser {config.serve.reasoning_parser}" in line
    assert all(flag in line for flag in has), line
    assert not any(flag in line for flag in lacks), line


def test_a_side_without_figures_gives_no_ratio():
    assert ratios({"ttft_p50_s": None, "ttft_p95_s": 0.2, "output_tokens_per_s": 0.0},
                  {"ttft_p50_s": 0.1, "ttft_p95_s": 0.1, "output_tokens_per_s": 0.0}) == {
        "ttft_p50": None, "ttft_p95": 2.0, "tokens_per_s": None}


ROW = {"concurrency": 4, "ttft_p50_s": 0.08, "ttft_p95_s": 0.1, "output_tokens_per_s": 90.0, "ttft_mean_s": 0.085,
       "time_engine_ttft_s": 0.04, "time_server_first_s": 0.05, "time_ingress_first_s": 0.07,
       "time_ingress_checks_s": 0.001}
BARE = {"concurrency": 4, "ttft_p50_s": 0.04, "ttft_p95_s": 0.05, "output_tokens_per_s": 100.0, "ttft_mean_s": 0.045,
        "time_engine_ttft_s": 0.035}
SUMMARY = {"slo_ttft_p95_ms": 2000.0, "concurrency": 4, "prompt_tokens": 256, "trials": [
    {"max_num_seqs": 8, "score": 90.0, "output_tokens_per_s": 90.0, "ttft_p95_s": 0.1, "tpot_p50_s": 0.01,
     "e2e_p95_s": 1.0, "requests_per_s": 1.0, "errors": 0, "meets_slo": True}]}


@pytest.mark.parametrize("overhead, expected", [
    (None, []),
    ({"error": "RuntimeError: the vLLM server exited with 1"},
     ["## What Serve costs at the chosen settings", "Not measured: RuntimeError: the vLLM server exited with 1"]),
    ({"serve": ROW, "bare_vllm": BARE, "ratios": ratios(ROW, BARE),
      "ttft_split": {"serve": split_ttft(ROW), "bare_vllm": split_ttft(BARE)}},
     ["## What Serve costs at the chosen settings", "concurrency 4, prompt 256 tokens",
      "| fcray Serve app | 80 | 100 | 90.0 |", "| bare vLLM | 40 | 50 | 100.0 |", "| Serve / bare | 2.00 | 2.00 | 0.90 |",
      "Where TTFT goes, Serve (means, ms): engine 40, server outside engine 10, ingress to server 20, "
      "ingress checks 1, outside ingress 14.",
      "Where TTFT goes, bare vLLM (means, ms): engine 35, server outside engine 10."]),
])
def test_the_report_says_what_serve_costs_at_the_chosen_settings(overhead, expected):
    text = "\n".join(overhead_report(overhead, SUMMARY))
    assert all(line in text for line in expected), text
    summary = {**SUMMARY, "best": SUMMARY["trials"][0], **({"overhead": overhead} if overhead else {})}
    assert ("What Serve costs" in sweep_report(summary)) == (overhead is not None)
