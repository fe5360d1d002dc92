"""Score several models on the same validation examples and print them side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fcray.config import EvalConfig
from fcray.eval.run import run_eval

TABLE_METRICS = ("parse_rate", "schema_rate", "name_accuracy", "exact_match", "args_f1", "irrelevance_accuracy",
                 "slot_filling_accuracy", "mean_reward")


def compare_models(models: dict[str, str], examples: list[dict[str, Any]], config: EvalConfig,
                   out: str | Path, log=print, decoding: Any = None) -> dict[str, dict[str, Any]]:
    """``{name: results}``: one resumable eval run per model under ``out/<name>``, on the same sample."""
    return {name: run_eval(path, examples, config, Path(out) / name, log=log, decoding=decoding)
            for name, path in models.items()}


def _cell(results: dict[str, Any], key: str) -> str:
    estimate = results["metrics"].get(key)
    return "-" if estimate is None else f"{estimate['mean']:.3f}"


def format_comparison(results: dict[str, dict[str, Any]]) -> str:
    """A plain-text table, metrics x models (``fcray report`` writes the full Markdown one)."""
    names = list(results)
    lines = [f"{'metric':<24}" + "".join(f"{n:>12}" for n in names)]
    for key in TABLE_METRICS:
        lines.append(f"{key:<24}" + "".join(f"{_cell(results[n], key):>12}" for n in names))
    return "\n".join(lines)
