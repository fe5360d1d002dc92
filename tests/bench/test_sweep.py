"""The Ray Tune sweep: parallel trials, each its own Serve app of the tiny model, scored under a TTFT SLO;
the winner is written as a deployable serve config."""

from __future__ import annotations

import json

import pytest
import yaml

from fcray.cluster import free_port
from fcray.config import load_config

pytestmark = pytest.mark.slow
RAY_NUM_CPUS = 4  # for the ray_local fixture: a trial (engine + router) and the Serve proxy


def test_sweep_finds_a_setting_under_the_slo_and_writes_the_serve_config(ray_local, tiny_model_dir, tmp_path):
    from ray.serve.schema import ServeDeploySchema

    from fcray.bench.sweep import run_sweep

    config = load_config("tiny", overrides=[
        f"serve.port={free_port()}", "serve.engine.kv_cache_memory_bytes=67108864", "serve.engine.max_model_len=1024",
        "bench.sweep.max_num_seqs=[1, 4]", "bench.sweep.max_num_batched_tokens=[2048]",
        "bench.sweep.concurrency=4", "bench.sweep.prompt_tokens=64", "bench.sweep.requests=8",
        "bench.max_tokens=16", "bench.slo_ttft_p95_ms=120000"])
    summary = run_sweep(config, str(tiny_model_dir), tmp_path / "sweep", str(tmp_path / "ray_results"))
    assert sorted(t["max_num_seqs"] for t in summary["trials"]) == [1, 4]
    assert all("error" not in t and t["errors"] == 0 and t["meets_slo"] for t in summary["trials"]), summary
    best = summary["best"]
    assert best["score"] == max(t["score"] for t in summary["trials"]) > 0
    assert summary["overrides"] == [f"serve.engine.max_num_seqs={best['max_num_seqs']}", "serve.engine.max_num_batched_tokens=2048"]
    recommended = yaml.safe_load((tmp_path / "sweep" / "recommended_serve_config.yaml").read_text())
    ServeDeploySchema.model_validate(recommended)
    engine = recommended["applications"][0]["args"]["llm_configs"][0]["engine_kwargs"]
    assert engine["max_num_seqs"] == best["max_num_seqs"] and engine["max_num_batched_tokens"] == 2048
    assert json.loads((tmp_path / "sweep" / "sweep.json").read_text())["best"] == best
    assert "Chosen: max_num_seqs=" in (tmp_path / "sweep" / "sweep.md").read_text()

