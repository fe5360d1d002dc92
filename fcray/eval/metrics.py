"""Aggregate per-example verdicts (fcray.toolcall.judge) into the metrics a report shows, with bootstrap
confidence intervals, overall and per category.

Each metric is a per-example value averaged over the examples it applies to (:data:`METRICS`): the call
metrics over examples whose ground truth is a call, irrelevance accuracy over "no call" examples,
slot-filling accuracy over "ask" examples, the mean reward over all. The same judge scores GRPO's rewards.
A verdict without a metric's value (predictions scored before the metric existed) is left out of it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

from fcray.toolcall import judge

Verdict = dict[str, Any]
Example = dict[str, Any]


def _kind(example: Example) -> str:
    return example["ground_truth"]["kind"]


def _calls(example: Example) -> bool:
    return _kind(example) == "call"


@dataclass(frozen=True)
class Metric:
    applies: Callable[[Example], bool]       # which examples it is averaged over
    value: Callable[[Verdict], float | None]  # the example's value, from its verdict (None: not scored)
    doc: str


METRICS: dict[str, Metric] = {
    "parse_rate": Metric(_calls, lambda v: float(v["parse_status"] == "ok"), "completion parses (call examples)"),
    "schema_rate": Metric(_calls, lambda v: v["schema"], "calls name an offered tool and fit its JSON Schema"),
    "execute_rate": Metric(_calls, lambda v: v["execute"],
                           "calls run without error (a catalog tool's simulator also rejects arguments that make "
                           "no sense; a tool without one runs every schema-valid call)"),
    "result_match": Metric(_calls, lambda v: v.get("result"),
                           "the calls' results equal the reference calls' (exact calls for tools without a simulator)"),
    "name_accuracy": Metric(_calls, lambda v: float(bool(v.get("name_correct"))), "the expected functions called"),
    "args_precision": Metric(_calls, lambda v: v.get("args_precision") or 0.0, "predicted arguments that are right"),
    "args_recall": Metric(_calls, lambda v: v.get("args_recall") or 0.0, "expected arguments that are predicted"),
    "args_f1": Metric(_calls, lambda v: v.get("args_f1") or 0.0, "argument F1 per example"),
    "exact_match": Metric(_calls, lambda v: v["match"], "calls equal the ground truth (BFCL's AST rules)"),
    "irrelevance_accuracy": Metric(lambda e: _kind(e) == "no_call", lambda v: v["match"], "no call when none fits"),
    "slot_filling_accuracy": Metric(lambda e: _kind(e) == "ask", lambda v: v["match"], "asks for the missing argument"),
    "accuracy": Metric(lambda e: True, lambda v: v["match"],
                       "the turn is right: the expected calls, no call, or the question for the missing argument"),
    "mean_reward": Metric(lambda e: True, lambda v: v["reward"], "the composite GRPO reward"),
}
# Per category: whether the turn is right (whatever its kind), the reward, and for call categories parsing
# and whether the calls' results are the reference's.
CATEGORY_METRICS = ("accuracy", "parse_rate", "result_match", "mean_reward")


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n}


def bootstrap(values: list[float], samples: int = 1000, confidence: float = 0.95, seed: int = 0) -> Estimate:
    """Mean and percentile-bootstrap interval of ``values`` (resampled with replacement)."""
    if not values:
        raise ValueError("bootstrap needs at least one value")
    import numpy

    data = numpy.asarray(values, dtype=float)
    resamples = numpy.random.default_rng(seed).integers(0, len(data), size=(samples, len(data)))
    means = data[resamples].mean(axis=1)
    tail = 100 * (1.0 - confidence) / 2
    low, high = numpy.percentile(means, [tail, 100 - tail])
    return Estimate(float(data.mean()), float(low), float(high), len(data))


def paired_difference(a: dict[str, float], b: dict[str, float], samples: int = 1000, confidence: float = 0.95,
                      seed: int = 0) -> Estimate:
    """``b - a`` over the example ids both scored, resampling ids (the pairing removes between-example
    variance, so it separates two models that independent intervals would not)."""
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("the two runs share no example ids")
    return bootstrap([b[i] - a[i] for i in common], samples, confidence, seed)


def metric_values(name: str, verdicts: list[Verdict], examples: list[Example]) -> dict[str, float]:
    """``{example id: value}`` of one metric over the examples it applies to."""
    metric = METRICS[name]
    values = {e["id"]: metric.value(v) for v, e in zip(verdicts, examples) if metric.applies(e)}
    return {i: value for i, value in values.items() if value is not None}


def summarize(verdicts: list[Verdict], examples: list[Example], samples: int = 1000, confidence: float = 0.95,
              seed: int = 0) -> dict[str, Any]:
    """``{"examples", "errors", "metrics": {name: estimate}, "by_category": {category: {name: estimate}}}``;
    a metric with no example to apply to is left out (not reported as 0)."""
    def estimates(names, pairs) -> dict[str, dict[str, float | int]]:
        out = {}
        for name in names:
            values = [x for v, e in pairs if METRICS[name].applies(e) and (x := METRICS[name].value(v)) is not None]
            if values:
                out[name] = bootstrap(values, samples, confidence, seed).to_dict()
        return out

    pairs = list(zip(verdicts, examples))
    by_category: dict[str, list[tuple[Verdict, Example]]] = defaultdict(list)
    for v, e in pairs:
        by_category[e["category"]].append((v, e))
    return {
        "examples": len(examples),
        "errors": sum(1 for v in verdicts if v.get("error")),
        "confidence": confidence,
        "metrics": estimates(METRICS, pairs),
        "by_category": {c: estimates(CATEGORY_METRICS, p) for c, p in sorted(by_category.items())},
    }


def verdict(completion: str, example: Example) -> Verdict:
    """fcray.toolcall's judgement of one completion, as a JSON-ready dict."""
    return judge(completion, example).to_dict()


def evaluate_completions(completions: list[str], examples: list[Example]) -> tuple[list[Verdict], dict[str, Any]]:
    verdicts = [verdict(c, e) for c, e in zip(completions, examples)]
    return verdicts, summarize(verdicts, examples)
