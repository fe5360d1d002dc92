"""The run-folder layout: every path under ``workdir`` that more than one stage reads or writes.

::

    <workdir>/data/            canonical examples (train/validation .jsonl + .parquet, summary.json)
    <workdir>/runs/<run name>/ one SFT or GRPO run: metrics, curves, merged ``model/``
    <workdir>/ray_results/     Ray Train's checkpoints (unless ``sft.ray_train.storage_path``/``grpo.ray_train.storage_path``)
    <workdir>/eval/<stage>/    predictions and results of base / sft / grpo / served
    <workdir>/bench/           load-test results and plot
    <workdir>/gguf/<name>/     GGUF files of a model, its Modelfile and export.json (fcray export gguf)
    <workdir>/edge/            the GGUF files of C scored and measured on llama.cpp (results.json)
    <workdir>/report/          the A/B/C report
    <workdir>/logs/            the main job's per-stage logs

Stages take these paths from here instead of rebuilding them, so the layout is written down once.

>>> from types import SimpleNamespace
>>> config = SimpleNamespace(workdir="/w", preset="tiny")
>>> str(run_dir(config, "sft")), str(run_dir(config, "grpo", "my-run")), str(eval_dir(config))
('/w/runs/sft-tiny', '/w/runs/my-run', '/w/eval')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def root(config_or_workdir: Any) -> Path:
    """The absolute ``workdir`` of a config (or a workdir given as a path)."""
    workdir = getattr(config_or_workdir, "workdir", config_or_workdir)
    return Path(workdir).resolve()


def data_dir(config_or_workdir: Any) -> Path:
    return root(config_or_workdir) / "data"


def default_run_name(config: Any, stage: str) -> str:
    """``sft-<preset>`` / ``grpo-<preset>``: the run a stage writes when no ``--run-name`` is given."""
    return f"{stage}-{config.preset}"


def run_dir(config: Any, stage: str, run_name: str | None = None) -> Path:
    """Where a run's metrics, curves, merged model and evaluation go: ``<workdir>/runs/<run name>``."""
    return root(config) / "runs" / (run_name or default_run_name(config, stage))


def trained_models(config: Any, run_names: dict[str, str] | None = None) -> dict[str, str]:
    """``{"sft": folder, "grpo": folder}`` for the pipeline runs of this workdir whose merged model exists."""
    run_names = run_names or {}
    models = {}
    for stage in ("sft", "grpo"):
        model = run_dir(config, stage, run_names.get(stage)) / "model"
        if (model / "config.json").exists():
            models[stage] = str(model)
    return models


def newest_trained_model(config: Any) -> str | None:
    """The pipeline's newest merged model under ``workdir``: GRPO "C", else SFT "B", else None."""
    trained = trained_models(config)
    return trained.get("grpo") or trained.get("sft")


def ray_results_dir(config: Any) -> Path:
    return root(config) / "ray_results"


def eval_dir(config: Any) -> Path:
    return root(config) / "eval"


def bench_dir(config: Any) -> Path:
    return root(config) / "bench"


def report_dir(config: Any) -> Path:
    return root(config) / "report"


def gguf_dir(config: Any, name: str) -> Path:
    """Where ``fcray export gguf`` writes the GGUF files of the model called ``name``."""
    return root(config) / "gguf" / name


def edge_results(config: Any) -> Path:
    """The edge figures of the pipeline's GGUF files (fcray.eval.edge.score_gguf)."""
    return root(config) / "edge" / "results.json"


def logs_dir(config_or_workdir: Any) -> Path:
    return root(config_or_workdir) / "logs"
