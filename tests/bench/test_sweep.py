"""The Ray Tune sweep: parallel trials, each its own Serve app of the tiny model, scored under a TTFT SLO;
the winner is written as a deployable serve config, a trial whose engine cannot start is a failed row, and
what Serve costs at the chosen settings is measured against a bare vLLM server."""

from __future__ import annotations

import json

import pytest
import yaml

from fcray.cluster import free_port
from fcray.config import load_config

pytestmark = pytest.mark.slow
RAY_NUM_CPUS = 4  # for the ray_local fixture: a trial (engine + router) and the Serve proxy
RAY_DASHBOARD = True  # Ray's state API: the sweep reads a failed engine's reason from its replica's log


def test_sweep_finds_a_setting_under_the_slo_and_writes_the_serve_config_when_some_engines_cannot_start(
        ray_local, tiny_model_dir, tmp_path):
    """A 2 x 2 grid where half the trials cannot start their engine (a 1 MiB KV cache holds 512 tokens,
    fewer than max_model_len): those are marked failed with vLLM's reason, their apps are gone, and the
    sweep still chooses among the others and writes the deployable config."""
    from ray import serve
    from ray.serve.schema import ServeDeploySchema

    from fcray.bench.sweep import run_sweep

    small, enough = 1 << 20, 64 << 20
    config = load_config("tiny", overrides=[
        f"serve.port={free_port()}", "serve.engine.max_model_len=1024",
        "bench.sweep.max_num_seqs=[1, 4]", "bench.sweep.max_num_batched_tokens=[2048]",
        f"bench.sweep.kv_cache_memory_bytes=[{small}, {enough}]",
        "bench.sweep.concurrency=4", "bench.sweep.prompt_tokens=64", "bench.sweep.requests=8",
        "bench.max_tokens=16", "bench.slo_ttft_p95_ms=120000"])
    summary = run_sweep(config, str(tiny_model_dir), tmp_path / "sweep", str(tmp_path / "ray_results"))
    trials = summary["trials"]
    assert sorted((t["max_num_seqs"], t["kv_cache_memory_bytes"]) for t in trials) == [
        (1, small), (1, enough), (4, small), (4, enough)], trials
    failed = [t for t in trials if "error" in t]
    assert [t["kv_cache_memory_bytes"] for t in failed] == [small, small], trials
    for t in failed:  # vLLM's reason, from the engine's log, first; then Serve's
        assert t["error"].startswith("engine: ValueError: To serve at least one request with the model's max "
                                     "seq len (1024)") and "KV cache" in t["error"], t["error"]
    ran = [t for t in trials if "error" not in t]
    assert all(t["errors"] == 0 and t["meets_slo"] for t in ran), ran
    assert not [name for name in serve.status().applications if name.startswith("sweep-")]  # no app left behind

    best = summary["best"]
    assert best["kv_cache_memory_bytes"] == enough and best["score"] == max(t["score"] for t in ran) > 0
    assert summary["overrides"] == [f"serve.engine.max_num_seqs={best['max_num_seqs']}",
                                    "serve.engine.max_num_batched_tokens=2048",
                                    f"serve.engine.kv_cache_memory_bytes={enough}"]
    recommended = yaml.safe_load((tmp_path / "sweep" / "recommended_serve_config.yaml").read_text())
    ServeDeploySchema.model_validate(recommended)
    engine = recommended["applications"][0]["args"]["llm_configs"][0]["engine_kwargs"]
    assert (engine["max_num_seqs"], engine["max_num_batched_tokens"], engine["kv_cache_memory_bytes"]) == (
        best["max_num_seqs"], 2048, enough)
    assert json.loads((tmp_path / "sweep" / "sweep.json").read_text())["best"] == best
    report = (tmp_path / "sweep" / "sweep.md").read_text()
    assert "Chosen: max_num_seqs=" in report and "2 of 4 trials failed" in report
    assert report.count("| failed: ") == 2

    # what Serve costs at the chosen settings: fcray's app and a bare vLLM server under the sweep's load
    overhead = summary["overhead"]
    assert "error" not in overhead, overhead
    for side in ("serve", "bare_vllm"):
        row = overhead[side]
        assert row["concurrency"] == 4 and row["errors"] == 0 and row["output_tokens_per_s"] > 0, row
        assert row["time_engine_ttft_s"] > 0 and row["time_requests_counted"] == 8, row  # the engine's own figures
    assert overhead["serve"]["time_ingress_first_s"] >= overhead["serve"]["time_server_first_s"] > 0  # fcray's app
    assert all(value > 0 for value in overhead["ratios"].values()), overhead["ratios"]
    assert "## What Serve costs at the chosen settings" in report and "| Serve / bare |" in report
    assert "sweep-overhead" not in serve.status().applications  # its app is gone too
