"""Aggregate per-example judgements (fcray.toolcall.judge) into the metrics a report shows."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fcray.toolcall import judge


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(judgements: list[dict[str, Any]], examples: list[dict[str, Any]]) -> dict[str, Any]:
    """Rates over call examples (parse, schema, execute, name, match, args F1) and no-call / ask accuracy."""
    calls = [(j, e) for j, e in zip(judgements, examples) if e["ground_truth"]["kind"] == "call"]
    out: dict[str, Any] = {
        "examples": len(examples),
        "parse_rate": _mean([float(j["parse_status"] == "ok") for j, _ in calls]),
        "schema_rate": _mean([j["schema"] for j, _ in calls]),
        "execute_rate": _mean([j["execute"] for j, _ in calls]),
        "name_accuracy": _mean([float(j["name_correct"]) for j, _ in calls]),
        "exact_match": _mean([j["match"] for j, _ in calls]),
        "args_f1": _mean([j["args_f1"] for j, _ in calls]),
        "irrelevance_accuracy": _mean([j["match"] for j, e in zip(judgements, examples)
                                       if e["ground_truth"]["kind"] == "no_call"]),
        "slot_filling_accuracy": _mean([j["match"] for j, e in zip(judgements, examples)
                                        if e["ground_truth"]["kind"] == "ask"]),
        "mean_reward": _mean([j["reward"] for j in judgements]),
    }
    by_category: dict[str, list[float]] = defaultdict(list)
    for j, e in zip(judgements, examples):
        by_category[e["category"]].append(j["match"])
    out["match_by_category"] = {c: _mean(v) for c, v in sorted(by_category.items())}
    return out


def evaluate_completions(completions: list[str], examples: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    judgements = [judge(c, e).to_dict() for c, e in zip(completions, examples)]
    return judgements, summarize(judgements, examples)
