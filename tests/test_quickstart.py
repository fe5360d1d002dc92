"""The README's quick start on the embedded default, as a user types it: train (data -> SFT -> GRPO), serve,
load-test, each its own `fcray` process working from what the previous one left, then stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SMALL = ["--set", "data.num_examples=120", "--set", "sft.max_steps=2", "--set", "sft.save_steps=2",
         "--set", "grpo.max_steps=1", "--set", "grpo.gradient_accumulation_steps=2",
         "--set", "grpo.max_completion_length=16", "--set", "grpo.num_engines=1",
         "--set", "serve.engine.max_model_len=1024", "--set", "bench.concurrency=[1]",
         "--set", "bench.prompt_lengths=[64]", "--set", "bench.requests_per_cell=3",
         "--set", "bench.warmup_requests=1", "--set", "bench.max_tokens=8"]


def _fcray(*args: str, env: dict[str, str], timeout: int) -> str:
    done = subprocess.run([sys.executable, "-m", "fcray.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"fcray {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.timeout(1500)
def test_train_then_serve_then_bench(tmp_path, fcray_cache):
    from fcray.cluster import free_port

    env = {**os.environ, "FCRAY_CACHE": str(fcray_cache), "FCRAY_RAY_DASHBOARD_PORT": str(free_port())}
    common = ["--preset", "tiny", "--set", f"workdir={tmp_path}", "--set", f"serve.port={free_port()}", *SMALL]
    out = _fcray("train", *common, "--no-eval", env=env, timeout=1200)
    assert "fcray sft: done" in out and "fcray grpo: done" in out
    model_c = tmp_path / "runs" / "grpo-tiny" / "model"
    assert (model_c / "config.json").exists()
    try:
        out = _fcray("serve", *common, env=env, timeout=600)
        assert f"({model_c})" in out and "is up" in out  # the newest model the training left: C
        out = _fcray("bench", *common, env=env, timeout=600)
        rows = json.loads((tmp_path / "bench" / "results.json").read_text())
        assert [(r["concurrency"], r["errors"]) for r in rows] == [(1, 0)] and rows[0]["ttft_p50_s"] > 0
    finally:
        _fcray("serve", "--stop", *common, env=env, timeout=300)
