"""The export job (``python -m jobs.export gguf``) submitted to a Ray head, as its docstring's
``ray job submit`` command does: it writes the checked GGUF files into the workdir it is given."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_the_export_job_runs_on_a_ray_head(tiny_model_dir, tmp_path, monkeypatch):
    from fcray.cluster import free_port, ray_head, submit_job

    monkeypatch.setenv("FCRAY_RAY_DASHBOARD_PORT", str(free_port()))  # a head of its own
    workdir = tmp_path / "runs"
    entrypoint = [sys.executable, "-m", "jobs.export", "gguf", "--preset", "tiny", "--model", str(tiny_model_dir),
                  "--set", f"workdir={workdir}", "--set", "data.num_examples=120", "--set", "edge.check_prompts=4",
                  "--set", "edge.quantizations=[f16, q8_0]"]
    lines: list[str] = []
    with ray_head(num_cpus=2) as head:
        code = submit_job(head, entrypoint, REPO, on_line=lines.append)
    assert code == 0, "".join(lines)[-3000:]
    (record_path,) = (workdir / "gguf").glob("*/export.json")
    record = json.loads(record_path.read_text())
    assert set(record["files"]) == {"f16", "q8_0"} and all(Path(f["path"]).is_file() for f in record["files"].values())
    assert record["checks"]["q8_0"]["tokenization"]["identical"] == 4
    assert any("GGUF files of" in line for line in lines)  # the job's own output came back
