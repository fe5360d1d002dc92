"""The thin ``ray job submit`` entrypoints that have no stage test of their own (data, bench, the sweep),
submitted to a local Ray head as their docstrings' commands do; each writes its outputs into the workdir it is
given. (SFT, GRPO, eval and export jobs: tests/test_demo.py and tests/edge/test_job.py.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def head():
    from fcray.cluster import free_port, ray_head

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FCRAY_RAY_DASHBOARD_PORT", str(free_port()))  # a head of its own
        with ray_head(num_cpus=4) as running:
            yield running


def _submit(head, module: list[str], workdir: Path) -> list[str]:
    from fcray.cluster import submit_job

    lines: list[str] = []

    def keep(line: str) -> None:  # kept for the assertion, and shown live (pytest -s) when a job hangs
        lines.append(line)
        print(line, end="", flush=True)

    code = submit_job(head, [sys.executable, "-m", *module, "--preset", "tiny", "--set", f"workdir={workdir}"],
                      REPO, on_line=keep)
    assert code == 0, "".join(lines)[-4000:]
    return lines


def _docstring_command(module: str) -> str:
    import importlib

    doc = importlib.import_module(module).__doc__
    return next(line.strip() for line in doc.splitlines() if line.strip().startswith("ray job submit"))


@pytest.mark.parametrize("module", ["jobs.data", "jobs.bench", "tune.sweep"])
def test_each_docstring_shows_its_submit_command(module):
    assert _docstring_command(module).startswith(f"ray job submit --working-dir . -- python -m {module} --preset ")


@pytest.mark.timeout(300)
def test_the_data_job_builds_the_canonical_sets(head, tmp_path):
    _submit(head, ["jobs.data", "--set", "data.num_examples=120"], tmp_path)
    summary = json.loads((tmp_path / "data" / "summary.json").read_text())
    assert summary["splits"]["train"]["examples"] > 0 and summary["splits"]["validation"]["examples"] > 0
    assert (tmp_path / "data" / "train.jsonl").read_text().count("\n") == summary["splits"]["train"]["examples"]


@pytest.mark.timeout(900)
def test_the_bench_job_deploys_the_serve_app_and_load_tests_it(head, tiny_model_dir, tmp_path):
    from fcray.cluster import free_port

    lines = _submit(head, ["jobs.bench", "--model", str(tiny_model_dir), "--set", f"serve.port={free_port()}",
                           "--set", "serve.engine.max_model_len=1024", "--set", "bench.concurrency=[1, 2]",
                           "--set", "bench.prompt_lengths=[64]", "--set", "bench.requests_per_cell=4",
                           "--set", "bench.warmup_requests=1", "--set", "bench.max_tokens=8"], tmp_path)
    rows = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert [(r["prompt_tokens"], r["concurrency"], r["errors"]) for r in rows] == [(64, 1, 0), (64, 2, 0)]
    assert all(r["ttft_p99_s"] >= r["ttft_p50_s"] > 0 and r["tpot_p50_s"] > 0 for r in rows)
    assert (tmp_path / "bench" / "load_test.png").read_bytes()[:4] == b"\x89PNG"
    assert any("fcray bench: 2 cells" in line for line in lines)
    from fcray.cluster import use_head
    from fcray.serve.launch import shutdown

    use_head(head)
    shutdown(head.address)  # the app stays up after a bench (as `fcray serve` leaves it); the sweep needs the CPUs


@pytest.mark.timeout(900)
def test_the_sweep_job_writes_the_recommended_serve_config(head, tiny_model_dir, tmp_path):
    from fcray.cluster import free_port

    _submit(head, ["tune.sweep", "--model", str(tiny_model_dir), "--set", f"serve.port={free_port()}",
                   "--set", "serve.engine.max_model_len=1024", "--set", "bench.sweep.max_num_seqs=[4]",
                   "--set", "bench.sweep.max_num_batched_tokens=[2048]", "--set", "bench.sweep.concurrency=2",
                   "--set", "bench.sweep.prompt_tokens=64", "--set", "bench.sweep.requests=4",
                   "--set", "bench.max_tokens=8", "--set", "bench.slo_ttft_p95_ms=120000"], tmp_path)
    summary = json.loads((tmp_path / "bench" / "sweep" / "sweep.json").read_text())
    assert [t.get("error") for t in summary["trials"]] == [None] and summary["best"]["max_num_seqs"] == 4
    recommended = yaml.safe_load((tmp_path / "bench" / "sweep" / "recommended_serve_config.yaml").read_text())
    engine = recommended["applications"][0]["args"]["llm_configs"][0]["engine_kwargs"]
    assert (engine["max_num_seqs"], engine["max_num_batched_tokens"]) == (4, 2048)
