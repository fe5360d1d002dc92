"""Rewards for GRPO and the per-example verdicts evaluation reports — one set of functions for both.

Each component is a pure function ``component(completion, example) -> Score`` (a value and a reason).
``completion`` is the model's text, an OpenAI-style message, or an already :class:`Parsed` completion
(the composite parses once and hands that to every component). Components, for the three kinds of
ground truth (``call`` / ``no_call`` / ``ask``):

============  ==============================================  =============================================
component     expected a call                                 expected no call / asking for an argument
============  ==============================================  =============================================
parse         1 if the completion parses to >= 1 call         1 if it contains no tool-call markup at all
schema        share of calls valid against their schemas      1 if no call is made
execute       share of calls the executor runs successfully   1 if no call is made
match         1 if the calls match the ground truth (BFCL)    no_call: 1 if no call; ask: 1 if no call and
                                                              the reply asks for every missing argument
args_f1       argument-level F1 against the ground truth      1 if no call is made
name          1 if the called functions are the expected ones 1 if no call is made
no_call_penalty  0                                            no_call: -1 if a call is made
ask_penalty      0                                            ask: -1 unless it asks without calling
============  ==============================================  =============================================

:func:`composite` is the weighted sum (weights from ``grpo.reward_weights``; the reference recipe uses
0.25 each for parse/schema/execute/match). :func:`judge` returns every component and the finer metrics
for one completion — what GRPO logs per example and what evaluation aggregates.

TRL adapters (:func:`trl_reward_funcs`) have TRL's signature ``f(prompts, completions, **columns)`` and
read ``tools`` and ``ground_truth`` from the dataset columns (JSON text, as fcray's parquet stores them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fcray.toolcall.execute import DEFAULT_REGISTRY, ToolRegistry
from fcray.toolcall.cache import by_identity
from fcray.toolcall.match import CallMetrics, asks_for, call_metrics, haystack_for, match_calls
from fcray.toolcall.parse import Parsed, as_parsed
from fcray.toolcall.schema import SchemaIssue, check_calls, tool_index


@dataclass(slots=True)
class Score:
    value: float
    reason: str = ""


# ---- shared per-completion work (cached on the Parsed object's identity by the composite) ------------


def _parameters(example: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return tool_index(example["tools"]).parameters


def _kind(example: Mapping[str, Any]) -> str:
    return example["ground_truth"]["kind"]


# ---- components ---------------------------------------------------------------------------------------


def parse_score(completion: Any, example: Mapping[str, Any]) -> Score:
    parsed = as_parsed(completion)
    if _kind(example) == "call":
        return Score(1.0, "ok") if parsed.ok else Score(0.0, parsed.status)
    if parsed.status == "no_call":
        return Score(1.0, "no markup")
    return Score(0.0, "made a call" if parsed.ok else parsed.status)


def _unless_checkable(parsed: Parsed, example: Mapping[str, Any]) -> Score | None:
    """The score of a per-call component when there are no calls to check: for a no-call / ask example,
    1 without calls and 0 with; for a call example whose completion did not parse, 0. None otherwise."""
    if _kind(example) != "call":
        return Score(1.0, "no call") if not parsed.calls else Score(0.0, "made a call")
    if not parsed.ok:
        return Score(0.0, parsed.status)
    return None


def schema_score(completion: Any, example: Mapping[str, Any], issues: list[list[SchemaIssue]] | None = None) -> Score:
    parsed = as_parsed(completion)
    if (early := _unless_checkable(parsed, example)) is not None:
        return early
    issues = check_calls(parsed.calls, example["tools"]) if issues is None else issues
    bad = [i[0].reason for i in issues if i]
    return Score(1 - len(bad) / len(issues), bad[0] if bad else "ok")


def execute_score(completion: Any, example: Mapping[str, Any], registry: ToolRegistry = DEFAULT_REGISTRY,
                  issues: list[list[SchemaIssue]] | None = None) -> Score:
    parsed = as_parsed(completion)
    if (early := _unless_checkable(parsed, example)) is not None:
        return early
    issues = check_calls(parsed.calls, example["tools"]) if issues is None else issues
    runs = [registry.execute(call, example["tools"], call_issues) for call, call_issues in zip(parsed.calls, issues)]
    failed = [r.reason for r in runs if not r.ok]
    return Score(1 - len(failed) / len(runs), failed[0] if failed else "ok")


def match_score(completion: Any, example: Mapping[str, Any]) -> Score:
    parsed = as_parsed(completion)
    truth = example["ground_truth"]
    if truth["kind"] == "no_call":
        return Score(1.0, "no call") if not parsed.calls and not parsed.failed else Score(0.0, "called a tool")
    if truth["kind"] == "ask":
        if parsed.calls or parsed.failed:
            return Score(0.0, "called instead of asking")
        return Score(1.0, "asked") if asks_for(parsed.content, truth["missing"]) else Score(0.0, "did not ask")
    if not parsed.ok:
        return Score(0.0, parsed.status)
    verdict = match_calls(parsed.calls, truth["calls"], _parameters(example))
    return Score(1.0, "match") if verdict.valid else Score(0.0, verdict.error_type)


@by_identity()
def _haystack(messages: list[dict[str, Any]]) -> str:
    """Where a correct argument value can come from: the prompt's text (tools are added per call)."""
    return haystack_for("\n".join(m.get("content") or "" for m in messages[:-1]))


@by_identity()
def _tools_haystack(tools: list[dict[str, Any]]) -> str:
    return haystack_for(json.dumps(tools))


def metrics_for(completion: Any, example: Mapping[str, Any]) -> CallMetrics | None:
    """Finer signals against an expected call (None for no-call / ask examples)."""
    truth = example["ground_truth"]
    if truth["kind"] != "call":
        return None
    parsed = as_parsed(completion)
    haystack = _haystack(example["messages"]) + " " + _tools_haystack(example["tools"])
    return call_metrics(parsed.calls, truth["calls"], _parameters(example), "", haystack)


def args_f1_score(completion: Any, example: Mapping[str, Any], metrics: CallMetrics | None = None) -> Score:
    parsed = as_parsed(completion)
    if (early := _unless_checkable(parsed, example)) is not None:
        return early
    metrics = metrics_for(parsed, example) if metrics is None else metrics
    return Score(metrics.f1, f"p={metrics.precision:.2f} r={metrics.recall:.2f}")


def name_score(completion: Any, example: Mapping[str, Any], metrics: CallMetrics | None = None) -> Score:
    """1 if the calls name exactly the expected functions (as a multiset), whatever their arguments: the
    first thing a policy must get right, and a denser signal than ``match`` while arguments are still wrong."""
    parsed = as_parsed(completion)
    if (early := _unless_checkable(parsed, example)) is not None:
        return early
    metrics = metrics_for(parsed, example) if metrics is None else metrics
    return Score(1.0, "ok") if metrics.name_correct else Score(0.0, "wrong function(s)")


def no_call_penalty(completion: Any, example: Mapping[str, Any]) -> Score:
    if _kind(example) == "no_call" and as_parsed(completion).calls:
        return Score(-1.0, "called when no call was expected")
    return Score(0.0, "")


def ask_penalty(completion: Any, example: Mapping[str, Any]) -> Score:
    if _kind(example) != "ask":
        return Score(0.0, "")
    if match_score(completion, example).value == 1.0:
        return Score(0.0, "asked")
    return Score(-1.0, "did not ask for the missing argument")


COMPONENTS: dict[str, Callable[..., Score]] = {
    "parse": parse_score,
    "schema": schema_score,
    "execute": execute_score,
    "match": match_score,
    "args_f1": args_f1_score,
    "name": name_score,
    "no_call_penalty": no_call_penalty,
    "ask_penalty": ask_penalty,
}
DEFAULT_WEIGHTS = {"parse": 0.25, "schema": 0.25, "execute": 0.25, "match": 0.25}


def check_weights(weights: Mapping[str, float]) -> None:
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown:
        raise KeyError(f"unknown reward component(s) {unknown}; available: {sorted(COMPONENTS)}")


@dataclass
class Judgement:
    """Everything fcray knows about one completion for one example."""

    parsed: Parsed
    scores: dict[str, Score]
    reward: float
    metrics: CallMetrics | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reward": self.reward,
            "parse_status": self.parsed.status,
            "calls": [c.to_dict() for c in self.parsed.calls],
            **{name: s.value for name, s in self.scores.items()},
            "reasons": {name: s.reason for name, s in self.scores.items() if s.reason},
        }
        if self.metrics is not None:
            out.update(name_correct=self.metrics.name_correct, args_precision=self.metrics.precision,
                       args_recall=self.metrics.recall, args_f1=self.metrics.f1,
                       hallucinated_args=self.metrics.hallucinated, args_predicted=self.metrics.args_predicted)
        return out


def judge(completion: Any, example: Mapping[str, Any], weights: Mapping[str, float] | None = None,
          registry: ToolRegistry = DEFAULT_REGISTRY, components: tuple[str, ...] = tuple(COMPONENTS)) -> Judgement:
    """Parse once, score every component, and combine with ``weights`` (default: the reference recipe)."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    parsed = as_parsed(completion)
    issues = check_calls(parsed.calls, example["tools"]) if parsed.ok and _kind(example) == "call" else None
    wanted = dict.fromkeys([*components, *weights])
    metrics = metrics_for(parsed, example) if "args_f1" in wanted or "name" in wanted else None
    scores: dict[str, Score] = {}
    for name in wanted:
        if name == "schema":
            scores[name] = schema_score(parsed, example, issues)
        elif name == "execute":
            scores[name] = execute_score(parsed, example, registry, issues)
        elif name == "args_f1":
            scores[name] = args_f1_score(parsed, example, metrics)
        elif name == "name":
            scores[name] = name_score(parsed, example, metrics)
        else:
            scores[name] = COMPONENTS[name](parsed, example)
    reward = sum(w * scores[name].value for name, w in weights.items())
    return Judgement(parsed, scores, reward, metrics)


def composite(completion: Any, example: Mapping[str, Any], weights: Mapping[str, float] | None = None) -> float:
    """The weighted reward of one completion (only the weighted components are computed)."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    return judge(completion, example, weights, components=tuple(weights)).reward


# ---- TRL adapters and the registry configs name rewards by ----------------------------------------------


def _example_from_columns(index: int, columns: Mapping[str, Any]) -> dict[str, Any]:
    def column(name: str) -> Any:
        if name not in columns:
            raise KeyError(f"reward needs the dataset column '{name}' (fcray's canonical data provides it)")
        value = columns[name][index]
        return json.loads(value) if isinstance(value, str) else value

    messages = columns.get("messages")
    return {"tools": column("tools"), "ground_truth": column("ground_truth"),
            "messages": json.loads(messages[index]) if messages is not None and isinstance(messages[index], str)
            else (messages[index] if messages is not None else [])}


def make_trl_reward(name: str, weights: Mapping[str, float] | None = None) -> Callable[..., list[float]]:
    """A TRL reward function for one component (``name``) or the weighted ``composite``."""
    if name == "composite":
        weights = dict(weights or DEFAULT_WEIGHTS)
        check_weights(weights)

        def score(completion: Any, example: dict[str, Any]) -> float:
            return composite(completion, example, weights)
    else:
        check_weights({name: 1.0})
        component = COMPONENTS[name]

        def score(completion: Any, example: dict[str, Any]) -> float:
            return component(completion, example).value

    def reward(prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
        return [score(completion, _example_from_columns(i, columns)) for i, completion in enumerate(completions)]

    reward.__name__ = f"fcray_{name}"
    return reward


def trl_reward_funcs(weights: Mapping[str, float]) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """One TRL reward function per weighted component, and the weights, for ``GRPOConfig.reward_weights``:
    TRL then logs each component's mean separately and sums them with these weights."""
    check_weights(weights)
    names = list(weights)
    return [make_trl_reward(n) for n in names], [float(weights[n]) for n in names]


REWARDS: dict[str, Callable[..., Callable[..., list[float]]]] = {
    "composite": lambda weights=None: make_trl_reward("composite", weights),
    **{name: (lambda name=name: lambda weights=None: make_trl_reward(name))() for name in COMPONENTS},
}


def get_reward(name: str, weights: Mapping[str, float] | None = None) -> Callable[..., list[float]]:
    """Look a reward up by the name a config uses (``composite`` or a component name)."""
    if name not in REWARDS:
        raise KeyError(f"unknown reward '{name}'; available: {sorted(REWARDS)}")
    return REWARDS[name](weights)
