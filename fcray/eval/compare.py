"""Score several model folders on the same validation examples (fcray.toolcall checks)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from fcray.config import EvalConfig
from fcray.eval.generate import generate_hf
from fcray.eval.metrics import evaluate_completions


def sample_examples(examples: list[dict[str, Any]], config: EvalConfig) -> list[dict[str, Any]]:
    if config.max_examples is None or config.max_examples >= len(examples):
        return examples
    return random.Random(config.seed).sample(examples, config.max_examples)


def compare_models(models: dict[str, str], examples: list[dict[str, Any]], config: EvalConfig,
                   out: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """``{name: summary}`` for each model folder; with ``out``, also writes predictions and summaries."""
    examples = sample_examples(examples, config)
    summaries = {}
    for name, path in models.items():
        completions = generate_hf(path, examples, max_new_tokens=config.max_new_tokens)
        judgements, summary = evaluate_completions(completions, examples)
        summaries[name] = summary
        if out is not None:
            Path(out).mkdir(parents=True, exist_ok=True)
            with open(Path(out) / f"predictions_{name}.jsonl", "w") as f:
                for example, completion, judgement in zip(examples, completions, judgements):
                    f.write(json.dumps({"id": example["id"], "category": example["category"],
                                        "completion": completion, **judgement}) + "\n")
    if out is not None:
        (Path(out) / "results.json").write_text(json.dumps(summaries, indent=2) + "\n")
    return summaries


def format_comparison(summaries: dict[str, dict[str, Any]]) -> str:
    names = list(summaries)
    keys = ["parse_rate", "schema_rate", "name_accuracy", "exact_match", "args_f1", "irrelevance_accuracy",
            "slot_filling_accuracy", "mean_reward"]
    lines = [f"{'metric':<24}" + "".join(f"{n:>12}" for n in names)]
    for key in keys:
        cells = [summaries[n].get(key) for n in names]
        lines.append(f"{key:<24}" + "".join(f"{'-' if c is None else f'{c:.3f}':>12}" for c in cells))
    return "\n".join(lines)
