"""The pipeline's three models — base "A", SFT "B", GRPO "C" — evaluated into one place.

Every stage's eval writes to ``<workdir>/eval/<stage>/`` (predictions, results), so the SFT job scores A
and B, the GRPO job B and C, and `fcray eval --stages` / the report reuse those predictions instead of
generating them again (a run resumes only when the model folder and the eval settings are unchanged).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fcray import workdir as workdir_layout
from fcray.config import FcrayConfig

STAGES = {"base": "A", "sft": "B", "grpo": "C"}


def eval_dir(config: FcrayConfig) -> Path:
    return workdir_layout.eval_dir(config)


def stage_models(config: FcrayConfig, run_names: dict[str, str] | None = None) -> dict[str, str]:
    """``{stage: model}`` for the stages whose model exists (base always does)."""
    from fcray.model.tiny import resolve_model_path

    models = {"base": resolve_model_path(config.model.name_or_path, config.model.tiny)}
    models.update(workdir_layout.trained_models(config, run_names))
    return models


def evaluate_stages(config: FcrayConfig, models: dict[str, str], examples: list[dict[str, Any]] | None = None,
                    log=print) -> dict[str, dict[str, Any]]:
    """``{stage: results}``, each eval under ``<workdir>/eval/<stage>`` on the validation split."""
    from fcray.data.pipeline import validation_examples
    from fcray.eval.compare import compare_models
    from fcray.model.card import add_eval_results, eval_dataset

    _tracking(config, eval_dir(config), "check").require()  # a missing tracker fails before generation starts
    examples = validation_examples(config.workdir) if examples is None else examples
    results = compare_models(models, examples, config.eval, eval_dir(config), log=log, decoding=config.decoding)
    for stage, result in results.items():
        track_results(config, stage, models[stage], result)
    for stage in ("sft", "grpo"):  # the models fcray trained: their cards get these results as model-index
        if stage in results and Path(models[stage]).is_dir():
            add_eval_results(models[stage], results[stage], eval_dataset(config.data.source, config.data.path))
    return results


def evaluate_sft_run(config: FcrayConfig, run_dir: Path, base_model: str) -> dict[str, dict[str, Any]]:
    """Base ("A") vs the SFT model ("B") on held-out validation examples, into ``<workdir>/eval``."""
    return evaluate_stages(config, {"base": base_model, "sft": str(run_dir / "model")})


def evaluate_grpo_run(config: FcrayConfig, run_dir: Path, start_model: str) -> dict[str, dict[str, Any]]:
    """The SFT model ("B") vs the GRPO model ("C") on held-out validation examples, into ``<workdir>/eval``."""
    return evaluate_stages(config, {"sft": start_model, "grpo": str(run_dir / "model")})


def label(stage: str) -> str:
    if stage == "served":
        return "served C (Ray Serve)"  # model C scored through the Serve app's OpenAI API
    return f"{stage} ({STAGES[stage]})" if stage in STAGES else stage


def _examples(config: FcrayConfig, data: str | None) -> list[dict[str, Any]]:
    from fcray.data.io import load_examples
    from fcray.data.pipeline import validation_examples

    return load_examples(data) if data else validation_examples(config.workdir)


def evaluate_one(config: FcrayConfig, model: str, name: str, data: str | None = None,
                 out: str | None = None) -> dict[str, Any]:
    """One model (folder, Hub id, or an endpoint's served name) into ``out`` (default ``<workdir>/eval/<name>``)."""
    from fcray.eval.run import check_model, run_eval

    check_model(model, config.eval.backend)  # before reading data: the first thing that is wrong is named
    out = Path(out or eval_dir(config) / name)
    _tracking(config, out, name).require()  # a missing tracker fails before generation starts
    results = run_eval(model, _examples(config, data), config.eval, out, decoding=config.decoding)
    track_results(config, name, model, results, out)
    return results


def _tracking(config: FcrayConfig, out: Path, name: str):
    from fcray import tracking

    return tracking.resolve(config, config.eval.report_to, out / "tensorboard", f"eval-{name}")


def track_results(config: FcrayConfig, name: str, model: str, results: dict[str, Any],
                  out: Path | None = None) -> None:
    """One model's eval metrics to ``eval.report_to``'s trackers: ``eval/<metric>`` and
    ``eval/<category>/<metric>`` (the means; the intervals stay in results.json), one tracker run per model,
    TensorBoard in ``<eval folder>/tensorboard``. Results already logged (the GRPO job re-scores B from its
    saved predictions) are not logged twice: ``<eval folder>/tracked.json`` remembers what was."""
    import hashlib
    import json

    from fcray.tracking import ScalarLogger, eval_scalars

    out = Path(out or eval_dir(config) / name)
    tracking = _tracking(config, out, name)
    if not tracking.enabled:
        return
    scalars = eval_scalars(results)
    mark = {"model": model, "report_to": tracking.report_to, "mlflow": tracking.mlflow_tracking_uri,
            "scalars": hashlib.sha256(json.dumps(scalars, sort_keys=True).encode()).hexdigest()}
    marker = out / "tracked.json"
    if marker.exists() and json.loads(marker.read_text()) == mark:
        return
    with ScalarLogger(tracking, {"model": model, "backend": config.eval.backend,
                                 "examples": results.get("examples")}) as logger:
        logger.log(scalars)
    marker.write_text(json.dumps(mark, indent=1) + "\n")


def report_for(config: FcrayConfig, runs: dict[str, str] | None = None, out: str | None = None) -> Path:
    """The report of ``runs`` (``{label: eval folder}``), by default the pipeline stages evaluated so far,
    with the GRPO reward curves and the load test when those exist."""
    from fcray.eval.edge import gguf_label
    from fcray.eval.report import write_report

    pairs = None
    if runs is None:
        ggufs = {gguf_label(k): f"gguf-{k}" for k in config.edge.quantizations if k not in ("f16", "bf16")}
        folders = {**{label(s): s for s in (*STAGES, "served")}, **ggufs}
        runs = {name: eval_dir(config) / folder for name, folder in folders.items()
                if (eval_dir(config) / folder / "results.json").exists()}
        # A -> B -> C, then every other form of C against C itself: what serving or quantizing costs
        stages = [label(s) for s in STAGES if label(s) in runs]
        pairs = [*zip(stages, stages[1:]), *[(label("grpo"), name) for name in (label("served"), *ggufs)]]
    grpo = workdir_layout.run_dir(config, "grpo")
    return write_report(runs, out or workdir_layout.report_dir(config),
                        grpo if (grpo / "metrics.jsonl").exists() else None,
                        workdir_layout.bench_dir(config) / "results.json",
                        workdir_layout.edge_results(config), pairs)


def bfcl_for(config: FcrayConfig, models: dict[str, str], log=print) -> dict[str, dict[str, Any]]:
    """BFCL (its own harness, offline categories) for each ``{name: model folder}``, into
    ``<workdir>/eval/<name>/bfcl``; each model is served by a vLLM server of its own for the run."""
    from fcray.eval.bfcl_harness import BFCLRun, run_bfcl
    from fcray.eval.vllm_server import ServerSpec

    e, b = config.eval.engine, config.eval.bfcl
    scores = {}
    for name, model in models.items():
        if not (Path(model) / "config.json").exists():
            raise FileNotFoundError(f"BFCL serves a model folder itself; {model} is not one (config.json missing)")
        run = BFCLRun(model=model, out=str(eval_dir(config) / name / "bfcl"), categories=list(b.categories),
                      max_entries_per_category=b.max_entries_per_category, max_new_tokens=b.max_new_tokens,
                      temperature=b.temperature, num_threads=b.num_threads, display_name=f"fcray {name} (FC)")
        server = ServerSpec(model=model, max_model_len=b.max_model_len, dtype=e.dtype,
                            kv_cache_memory_bytes=None if e.on_gpu else e.kv_cache_memory_bytes,
                            enforce_eager=e.enforce_eager)
        scores[name] = run_bfcl(run, server, log=log)
    return scores
