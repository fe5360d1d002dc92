"""BFCL's own harness end to end, offline, against the tiny model served by a local vLLM server."""

from __future__ import annotations

import json

import pytest

from fcray.eval.bfcl_harness import BFCL_WEIGHTS, BFCLRun, harness_confinement, read_scores, run_bfcl

# No skip when bfcl-eval is missing: .ci/setup installs it, and a missing harness must fail loudly.


def test_offline_overall_uses_bfcls_weights_over_the_sections_run(tmp_path):
    score = tmp_path / "score"
    score.mkdir()
    for section in ("non_live", "multi_turn"):  # what BFCL generated results for
        (tmp_path / "result" / "fcray-model-FC" / section).mkdir(parents=True)
        (tmp_path / "result" / "fcray-model-FC" / section / "x_result.json").write_text("{}")
    (score / "data_overall.csv").write_text("Rank,Overall Acc,Model\n1,9.00%,fcray m (FC)\n")
    (score / "data_non_live.csv").write_text(
        "Rank,Model,Non-Live Overall Acc,Irrelevance Detection\n1,fcray m (FC),20.00%,50.00%\n")
    (score / "data_live.csv").write_text("Rank,Model,Live Overall Acc,Irrelevance Detection\n1,fcray m (FC),0.00%,N/A\n")
    (score / "data_multi_turn.csv").write_text("Rank,Model,Multi Turn Overall Acc\n1,fcray m (FC),2.00%\n")
    scores = read_scores(tmp_path)
    # live did not run: not reported (BFCL's table shows 0.00% for it)
    assert scores["sections"] == {"non_live": 20.0, "live": None, "irrelevance": 50.0, "multi_turn": 2.0}
    assert scores["bfcl_overall"] == 9.0
    w = BFCL_WEIGHTS
    expected = (w["non_live"] * 20.0 + w["irrelevance"] * 50.0 + w["multi_turn"] * 2.0) / (
        w["non_live"] + w["irrelevance"] + w["multi_turn"])
    assert scores["offline_overall"] == pytest.approx(expected)


@pytest.mark.slow
def test_bfcl_generates_and_scores_the_served_tiny_model(tmp_path, tiny_model_dir):
    from fcray.eval.vllm_server import ServerSpec

    run = BFCLRun(model=str(tiny_model_dir), out=str(tmp_path / "bfcl"),
                  categories=["simple_python", "irrelevance", "multi_turn_base"], max_entries_per_category=2,
                  max_new_tokens=16, num_threads=4)
    scores = run_bfcl(run, ServerSpec(model=str(tiny_model_dir), max_model_len=4096, kv_cache_memory_bytes=128 << 20))
    # BFCL wrote its own results (two entries per category) and score tables
    results = tmp_path / "bfcl" / "result" / "fcray-model-FC"
    simple = [json.loads(line) for line in (results / "non_live" / "BFCL_v4_simple_python_result.json").open()]
    assert [r["id"] for r in simple] == ["simple_python_0", "simple_python_1"]
    assert (tmp_path / "bfcl" / "score" / "data_overall.csv").exists()
    # a random model calls nothing sensible: no AST hit; irrelevance (do not call) is where it can score
    sections = scores["sections"]
    assert sections["non_live"] == 0.0 and sections["live"] is None  # live was not run
    assert sections["irrelevance"] is not None and sections["multi_turn"] is not None
    assert json.loads((tmp_path / "bfcl" / "bfcl_results.json").read_text())["offline_overall"] == scores["offline_overall"]


# A model's multi-turn "call" that BFCL's checker eval()s as it is: its deny-list (kill, exit, remove, ...)
# does not stop open(), so unconfined it writes a file and reads the caller's secrets.
CRAFTED = """
import json, sys
from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call
target = sys.argv[1]
calls = [f"open({target!r}, 'w').write('pwned')", "__import__('os').environ.get('FCRAY_TEST_SECRET')"]
results, _ = execute_multi_turn_func_call(calls, {}, ["MathAPI"], "m", "crafted_0")
print(json.dumps(results))
"""


def test_a_crafted_multi_turn_call_has_no_effect_outside_the_harness_sandbox(tmp_path, monkeypatch):
    import subprocess
    import sys

    from fcray.sandbox import run_confined

    monkeypatch.setenv("FCRAY_TEST_SECRET", "s3cr3t")
    control = tmp_path / "control"
    unconfined = subprocess.run([sys.executable, "-c", CRAFTED, str(control)], capture_output=True, text=True, check=True)
    assert control.read_text() == "pwned" and "s3cr3t" in unconfined.stdout  # the attack is real
    run = BFCLRun(model="m", out=str(tmp_path / "bfcl"))
    (tmp_path / "bfcl").mkdir()
    target = tmp_path / "pwned"
    confined = run_confined([sys.executable, "-c", CRAFTED, str(target)], harness_confinement(run, "127.0.0.1", "1"),
                            timeout_s=120, capture_output=True, text=True)
    assert confined.returncode == 0, confined.stderr
    results = json.loads(confined.stdout.strip().splitlines()[-1])
    assert not target.exists() and "Permission denied" in results[0]   # BFCL scores it as a failed call
    assert "s3cr3t" not in confined.stdout and results[1] == "None"
