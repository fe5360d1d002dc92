"""The main job, end to end on the embedded default (small data so it stays quick)."""

from __future__ import annotations

import json

import pytest

from fcray.cli import main


@pytest.mark.slow
def test_demo_runs_the_existing_stages(tmp_path, tiny_model_dir, capsys):
    code = main(["demo", "--preset", "tiny", "--set", "data.num_examples=200", "--set", f"workdir={tmp_path}",
                 "--set", "sft.max_steps=4", "--set", "sft.save_steps=2", "--set", "eval.max_examples=8",
                 "--set", "eval.max_new_tokens=16"])
    assert code == 0
    out = capsys.readouterr().out
    assert "== [1/3] data" in out and "== [2/3] model" in out and "== [3/3] sft (ray job submit jobs/sft.py)" in out
    assert "base (A) vs SFT (B) on 8 held-out validation examples" in out and "parse_rate" in out
    assert (tmp_path / "runs" / "sft-tiny" / "model" / "README.md").exists()
    assert f"model: {tiny_model_dir}" in out
    assert "<|im_start|>assistant\n<think>\n\n</think>\n\n<tool_call>\n" in out  # the example as the model sees it
    assert "<tools>\n[" in out and "tool schemas: " in out and '"parameters"' not in out
    assert "pending stages: grpo (issue #5)" in out
    assert json.loads((tmp_path / "data" / "summary.json").read_text())["load"]["rows_read"] == 200


def test_export_text_writes_chat_template_renderings(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "data"
    assert main(["data", "--set", "data.num_examples=60", "--out", str(out), "--export", "text"]) == 0
    rows = [json.loads(line) for line in (out / "validation.text.jsonl").read_text().splitlines()]
    assert rows and all(r["text"].startswith("<|im_start|>system\n# Tools") for r in rows if "<tools>" in r["text"])
    assert all(r["text"].endswith("<|im_end|>\n") for r in rows)
