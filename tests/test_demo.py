"""The main job, end to end on the embedded default (small data so it stays quick)."""

from __future__ import annotations

import json

import pytest

from fcray.cli import main
from fcray.cluster import free_port


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the whole pipeline: SFT, GRPO, serve + load test, eval + BFCL of three models
def test_demo_runs_data_sft_and_grpo_through_ray_job_submit(tmp_path, tiny_model_dir, capsys):
    code = main(["demo", "--preset", "tiny", "--set", "data.num_examples=200", "--set", f"workdir={tmp_path}",
                 "--set", "sft.max_steps=4", "--set", "sft.save_steps=2", "--set", "eval.max_examples=8",
                 "--set", "eval.max_new_tokens=16", "--set", "grpo.max_steps=2", "--set", "grpo.save_steps=2",
                 "--set", "grpo.per_device_train_batch_size=8", "--set", "grpo.gradient_accumulation_steps=2",
                 "--set", "grpo.max_completion_length=24",
                 "--set", "eval.bfcl.categories=[simple_python,irrelevance]", "--set", "eval.bfcl.max_entries_per_category=2",
                 "--set", "eval.bfcl.max_new_tokens=16", "--set", f"serve.port={free_port()}",
                 "--set", "bench.concurrency=[1, 2]", "--set", "bench.prompt_lengths=[32]",
                 "--set", "bench.requests_per_cell=2", "--set", "bench.max_tokens=8"])
    assert code == 0
    out = capsys.readouterr().out
    for stage in ("[1/7] data: ", "[2/7] model: ", "[3/7] sft: SFT of A on Ray Train (python -m jobs.sft)",
                  "[4/7] grpo: GRPO of B on Ray Train with vLLM rollouts (python -m jobs.grpo)", "[5/7] serve: ",
                  "[6/7] edge: C as GGUF (F16, Q8_0, Q4_K_M) on llama.cpp, scored and measured",
                  "[7/7] eval: A, B, C + BFCL and the report (python -m jobs.eval)"):
        assert stage in out and f"{stage.split(':')[0]}: done in " in out
    assert "'fcray-tiny' is up: OpenAI API at http://127.0.0.1:" in out
    assert "held-out (base (A) → sft (B)): parse_rate " in out
    assert (tmp_path / "runs" / "sft-tiny" / "model" / "README.md").exists()
    assert f"model: {tiny_model_dir}" in out
    # the example as the model sees it
    assert "| <|im_start|>assistant\n      | <think>\n      |\n      | </think>\n      |\n      | <tool_call>\n" in out
    assert "<tools>\n      | [" in out and "tool schemas: " in out and '"parameters"' not in out
    assert "base (A) vs SFT (B) vs GRPO (C) on 8 held-out validation examples" in out
    # A console for people: short, no library noise; the jobs' full output is in the stage logs.
    lines = out.splitlines()
    assert len(lines) <= 150, f"{len(lines)} console lines"
    assert not any("RayTrainWorker" in line or "LOAD_GLOBAL" in line or " INFO " in line for line in lines)
    logs = {p.name: p.read_text() for p in (tmp_path / "logs").glob("*.log")}
    assert {"1-data.log", "2-model.log", "3-sft.log", "4-grpo.log", "5-serve.log", "6-edge.log", "7-eval.log"} <= set(logs)
    assert "submitted successfully" in logs["3-sft.log"] and "RayTrainWorker" in logs["3-sft.log"]
    assert not any("LOAD_GLOBAL" in text for text in logs.values())  # Ray Train's print patch is off
    results = json.loads((tmp_path / "results.json").read_text())  # what docs/results/ keeps
    assert set(results["models"]) == {"A", "B", "C", "served C", "C GGUF Q8_0", "C GGUF Q4_K_M"}
    assert results["n_examples"] == 8 and set(results["deltas"]) >= {"C GGUF Q8_0-C", "C GGUF Q4_K_M-C"}
    assert set(results["deltas"]) >= {"B-A", "C-B"} and len(results["deltas"]["C-B"]["exact_match"]) == 3
    assert results["command"].startswith("fcray demo --preset tiny") and results["machine"] and results["date"]
    assert set(results["stage_seconds"]) == {"data", "model", "sft", "grpo", "serve", "edge", "eval"}
    assert results["console_lines"] <= len(lines)
    reports = [line for line in logs["3-sft.log"].splitlines() if "Reporting training result" in line]
    assert len(reports) == len(set(reports))  # each worker line once
    grpo_dir = tmp_path / "runs" / "grpo-tiny"
    assert (grpo_dir / "model" / "README.md").exists() and (grpo_dir / "curves.png").exists()
    report = (tmp_path / "report" / "report.md").read_text()
    assert ("| base (A) | sft (B) | grpo (C) | served C (Ray Serve) | "
            "C (GGUF Q8_0) | C (GGUF Q4_K_M) | Δ sft (B) − base (A) | Δ grpo (C) − sft (B) | "
            "Δ served C (Ray Serve) − grpo (C) | Δ C (GGUF Q8_0) − grpo (C) | Δ C (GGUF Q4_K_M) − grpo (C) |") in report
    assert "## Edge (GGUF on llama.cpp)" in report and "| C (GGUF Q4_K_M) | " in report
    assert "llama.cpp tokenized all " in report
    edge = json.loads((tmp_path / "edge" / "results.json").read_text())
    assert set(edge["files"]) == {"q8_0", "q4_k_m"} and all(f["ttft_ms"]["p50"] > 0 for f in edge["files"].values())
    assert "| grpo (C) | 2 |" in report  # BFCL's scores for C, 2 entries per category
    for plot in ("metrics.png", "grpo_rewards.png", "edge.png"):
        assert (tmp_path / "report" / plot).read_bytes()[:4] == b"\x89PNG"
    served = [json.loads(line) for line in (tmp_path / "eval" / "served" / "predictions.jsonl").open()]
    assert len(served) == 8 and all(r["response"]["role"] == "assistant" for r in served if not r["error"])
    bench = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert [r["concurrency"] for r in bench] == [1, 2] and all(r["errors"] == 0 for r in bench)
    assert "load_test.png" in report and (tmp_path / "report" / "load_test.png").exists()
    assert json.loads((tmp_path / "data" / "summary.json").read_text())["load"]["rows_read"] == 200


def test_export_text_writes_chat_template_renderings(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "data"
    assert main(["data", "--set", "data.num_examples=60", "--out", str(out), "--export", "text"]) == 0
    rows = [json.loads(line) for line in (out / "validation.text.jsonl").read_text().splitlines()]
    assert rows and all(r["text"].startswith("<|im_start|>system\n# Tools") for r in rows if "<tools>" in r["text"])
    assert all(r["text"].endswith("<|im_end|>\n") for r in rows)
