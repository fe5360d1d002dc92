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
result        results of the calls equal the reference        1 if no call is made
              calls' results (multiset share)
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
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fcray.toolcall.execute import DEFAULT_REGISTRY, Execution, ToolRegistry
from fcray.toolcall.cache import by_identity
from fcray.toolcall.match import CallMetrics, asks_for, call_metrics, haystack_for, match_calls
from fcray.toolcall.parse import Call, Parsed, as_parsed
from fcray.toolcall.schema import SchemaIssue, check_calls, tool_index


@dataclass(slots=True)
class Score:
    value: float
    reason: str = ""


# ---- shared per-completion work: computed at most once per (completion, example), on demand -----------


class Context:
    """What several components need for one completion and one example — the schema check of its calls,
    the argument metrics, the tool registry — computed the first time a component asks and shared after."""

    def __init__(self, parsed: Parsed, example: Mapping[str, Any], registry: ToolRegistry = DEFAULT_REGISTRY):
        self.parsed, self.example, self.registry = parsed, example, registry
        self._issues: list[list[SchemaIssue]] | None = None
        self._runs: list[Execution] | None = None
        self._metrics: CallMetrics | None = None
        self._have_metrics = False

    @property
    def issues(self) -> list[list[SchemaIssue]]:
        if self._issues is None:
            self._issues = check_calls(self.parsed.calls, self.example["tools"])
        return self._issues

    @property
    def runs(self) -> list[Execution]:
        """The registry's execution of each parsed call (``execute`` and ``result`` share them)."""
        if self._runs is None:
            self._runs = [self.registry.execute(call, self.example["tools"], call_issues)
                          for call, call_issues in zip(self.parsed.calls, self.issues)]
        return self._runs

    @property
    def reference_runs(self) -> list[Execution]:
        """The execution of each reference call (:func:`reference_calls`), once per example object: the
        implementations are deterministic, and GRPO scores many completions of one example in a row."""
        truth, tools = self.example["ground_truth"], self.example["tools"]
        slot = _reference_slot(truth)
        if slot[0] is tools and slot[1] is self.registry:
            return slot[2]
        runs = [self.registry.execute(c, tools) for c in reference_calls(truth)]
        if not any(r.reason in ("timeout", "crashed") for r in runs):  # the machine, not the example
            slot[:] = [tools, self.registry, runs]
        return runs

    @property
    def metrics(self) -> CallMetrics | None:
        if not self._have_metrics:
            self._metrics, self._have_metrics = metrics_for(self.parsed, self.example), True
        return self._metrics


def _context(completion: Any, example: Mapping[str, Any], context: Context | None) -> Context:
    return context if context is not None else Context(as_parsed(completion), example)


def _parameters(example: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return tool_index(example["tools"]).parameters


def _kind(example: Mapping[str, Any]) -> str:
    return example["ground_truth"]["kind"]


# ---- components: one pure function each, ``component(completion, example, context=None) -> Score``,
# registered once in COMPONENTS; judge(), the composite and the TRL adapters all iterate this table. ------

Component = Callable[..., Score]
COMPONENTS: dict[str, Component] = {}


def component(name: str) -> Callable[[Component], Component]:
    """Register a reward component under ``name`` (the name ``grpo.reward_weights`` uses)."""
    def register(fn: Component) -> Component:
        if name in COMPONENTS:
            raise ValueError(f"reward component '{name}' is registered twice")
        COMPONENTS[name] = fn
        return fn

    return register


# Examples for the doctests below.
_CALL = {"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
         "messages": [{"role": "user", "content": "Weather in Oslo?"}, {"role": "assistant", "content": ""}],
         "ground_truth": {"kind": "call", "calls": [{"name": "get_weather", "arguments": {"city": ["Oslo"]}}]}}
_NO_CALL = {**_CALL, "ground_truth": {"kind": "no_call"}}
_ASK = {**_CALL, "ground_truth": {"kind": "ask", "missing": ["city"]}}
_OSLO = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
_PARIS = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


@component("parse")
def parse_score(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
    """1 if a call was expected and the completion parses to at least one call; for a no-call or ask example,
    1 if it has no tool-call markup at all.

    >>> parse_score(_OSLO, _CALL).value, parse_score("<tool_call>\\n{broken", _CALL).value
    (1.0, 0.0)
    >>> parse_score("No tool fits.", _NO_CALL).value
    1.0
    """
    parsed = _context(completion, example, context).parsed
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


@component("schema")
def schema_score(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
    """The share of calls that name an offered tool and fit its JSON Schema (1 if no call is made where none
    was expected).

    >>> schema_score(_OSLO, _CALL).value
    1.0
    >>> schema_score('<tool_call>\\n{"name": "get_weather", "arguments": {}}\\n</tool_call>', _CALL).reason
    'missing_required'
    """
    ctx = _context(completion, example, context)
    if (early := _unless_checkable(ctx.parsed, example)) is not None:
        return early
    bad = [i[0].reason for i in ctx.issues if i]
    return Score(1 - len(bad) / len(ctx.issues), bad[0] if bad else "ok")


@component("execute")
def execute_score(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
    """The share of calls the tool registry runs without error (arguments are validated first).

    >>> execute_score(_OSLO, _CALL).value
    1.0
    """
    ctx = _context(completion, example, context)
    if (early := _unless_checkable(ctx.parsed, example)) is not None:
        return early
    failed = [r.reason for r in ctx.runs if not r.ok]
    return Score(1 - len(failed) / len(ctx.runs), failed[0] if failed else "ok")


def _concrete(value: Any) -> Any:
    """One concrete value from a ground-truth value (objects map each key to its acceptable values)."""
    if isinstance(value, dict):
        return {k: _concrete(first) for k, accepted in value.items()
                if (first := (accepted[0] if isinstance(accepted, list) and accepted else accepted)) != ""}
    if isinstance(value, list):
        return [_concrete(v) if isinstance(v, dict) else v for v in value]
    return value


def reference_calls(truth: Mapping[str, Any]) -> list[Call]:
    """The concrete calls of a ``call`` ground truth: the first acceptable value of each argument, and no
    argument where that first value is BFCL's "omitted" marker ``""``. fcray's ground truth
    (fcray.data.schema.ground_truth_for) lists the reference's own value first and starts with ``""`` exactly
    when the reference left the argument out, so these are the reference assistant turn's calls.

    >>> reference_calls({"kind": "call", "calls": [{"name": "f", "arguments": {"x": [1, 1.0], "unit": ["", "c"],
    ...     "cabin": ["economy", ""], "address": [{"zip": ["10001"], "floor": [""]}]}}]})
    [Call(name='f', arguments={'x': 1, 'cabin': 'economy', 'address': {'zip': '10001'}})]
    """
    return [Call(c["name"], _concrete(c["arguments"])) for c in truth["calls"]]


@by_identity()
def _reference_slot(truth: Mapping[str, Any]) -> list[Any]:
    """[tools, registry, executions] of the last execution of this ground truth's reference calls."""
    return [None, None, None]


def _outcome(call: Call, run: Execution) -> str:
    """What a call did, in canonical JSON: the tool and its result (a tool's name counts, so another tool's
    equal result is not a match)."""
    return json.dumps({"name": call.name, "result": run.result}, sort_keys=True)


@component("result")
def result_score(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
    """Whether the calls do what the reference calls do: both are executed and their results compared as
    multisets (canonical JSON); the share matched of max(#reference, #predicted). A call that does not
    execute matches nothing. For a tool without an implementation the stub's result is a hash of the call,
    so the comparison is exact call equality, and the reason says so.

    >>> result_score(_OSLO, _CALL).reason
    "no implementation for 'get_weather': compared calls; 1/1 results match"
    >>> result_score(_PARIS, _CALL).value, result_score(_OSLO + "\\n" + _PARIS, _CALL).value
    (0.0, 0.5)
    >>> result_score("No tool fits.", _NO_CALL).value
    1.0
    """
    ctx = _context(completion, example, context)
    if (early := _unless_checkable(ctx.parsed, example)) is not None:
        return early
    references = reference_calls(example["ground_truth"])
    expected = []
    for call, run in zip(references, ctx.reference_runs):
        if not run.ok:
            return Score(0.0, f"reference call '{call.name}' does not execute ({run.reason}: {run.detail})")
        expected.append(_outcome(call, run))
    got = [_outcome(call, run) for call, run in zip(ctx.parsed.calls, ctx.runs) if run.ok]
    matched = sum((Counter(expected) & Counter(got)).values())
    total = max(len(expected), len(ctx.parsed.calls))
    reason = f"{matched}/{total} results match"
    stubbed = sorted({c.name for c, r in zip(references, ctx.reference_runs) if not r.simulated})
    if stubbed:
        reason = f"no implementation for {', '.join(repr(n) for n in stubbed)}: compared calls; {reason}"
    return Score(matched / total, reason)


@component("match")
def match_score(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
    """1 if the calls equal the ground truth under BFCL's rules; for no-call, 1 without a call; for ask, 1 if
    the reply asks for every missing argument without calling.

    >>> match_score(_OSLO, _CALL).value, match_score(_PARIS, _CALL).value
    (1.0, 0.0)
    >>> match_score("Which city do you mean?", _ASK).value
    1.0
    """
    parsed = _context(completion, example, context).parsed
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


@component("args_f1")
def args_f1_score(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
    """Argument-level F1 of the calls against the ground truth.

    >>> args_f1_score(_OSLO, _CALL).value, args_f1_score(_PARIS, _CALL).value
    (1.0, 0.0)
    """
    ctx = _context(completion, example, context)
    if (early := _unless_checkable(ctx.parsed, example)) is not None:
        return early
    metrics = ctx.metrics
    return Score(metrics.f1, f"p={metrics.precision:.2f} r={metrics.recall:.2f}")


@component("name")
def name_score(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
    """1 if the calls name exactly the expected functions (as a multiset), whatever their arguments: the
    first thing a policy must get right, and a denser signal than ``match`` while arguments are still wrong.

    >>> name_score(_PARIS, _CALL).value
    1.0
    """
    ctx = _context(completion, example, context)
    if (early := _unless_checkable(ctx.parsed, example)) is not None:
        return early
    return Score(1.0, "ok") if ctx.metrics.name_correct else Score(0.0, "wrong function(s)")


@component("no_call_penalty")
def no_call_penalty(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
    """-1 for a call where none was expected, else 0.

    >>> no_call_penalty(_OSLO, _NO_CALL).value, no_call_penalty(_OSLO, _CALL).value
    (-1.0, 0.0)
    """
    if _kind(example) == "no_call" and _context(completion, example, context).parsed.calls:
        return Score(-1.0, "called when no call was expected")
    return Score(0.0, "")


@component("ask_penalty")
def ask_penalty(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
    """-1 on an ask example unless the reply asks for the missing argument without calling, else 0.

    >>> ask_penalty("It is sunny.", _ASK).value, ask_penalty("Which city?", _ASK).value
    (-1.0, 0.0)
    """
    if _kind(example) != "ask":
        return Score(0.0, "")
    if match_score(completion, example, context).value == 1.0:
        return Score(0.0, "asked")
    return Score(-1.0, "did not ask for the missing argument")


DEFAULT_WEIGHTS = {"parse": 0.25, "schema": 0.25, "execute": 0.25, "match": 0.25}


def resolve_component(name: str) -> Component:
    """A registered component, or a custom one by dotted path (``my_pkg.rewards:fn`` or ``my_pkg.rewards.fn``),
    as TRL takes reward functions by path. A custom component has the same signature
    ``fn(completion, example, context=None)`` and returns a :class:`Score` or a number."""
    if name in COMPONENTS:
        return COMPONENTS[name]
    module, sep, attr = name.partition(":") if ":" in name else name.rpartition(".")
    if not sep or not module:
        raise KeyError(f"unknown reward component(s) ['{name}']; available: {sorted(COMPONENTS)} "
                       f"or a dotted path to a function (my_pkg.rewards:fn)")
    import importlib

    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as error:
        raise KeyError(f"reward component '{name}': cannot import it ({error})") from error
    if not callable(fn):
        raise KeyError(f"reward component '{name}' is not a function")

    def custom(completion: Any, example: Mapping[str, Any], context: Context | None = None) -> Score:
        value = fn(completion, example, context)
        return value if isinstance(value, Score) else Score(float(value), "")

    return custom


def check_weights(weights: Mapping[str, float]) -> None:
    unknown = sorted(n for n in weights if n not in COMPONENTS and not (":" in n or "." in n))
    if unknown:
        raise KeyError(f"unknown reward component(s) {unknown}; available: {sorted(COMPONENTS)}")
    for name in weights:
        resolve_component(name)


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
    """Parse once, score every component in the table (and every weighted one) on one shared
    :class:`Context`, and combine them with ``weights`` (default: the reference recipe)."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    context = Context(as_parsed(completion), example, registry)
    scores = {name: resolve_component(name)(context.parsed, example, context)
              for name in dict.fromkeys([*components, *weights])}
    reward = sum(w * scores[name].value for name, w in weights.items())
    # the finer argument metrics whenever a component that reads them was asked for (unparsed calls included)
    metrics = context.metrics if {"args_f1", "name"} & set(scores) else None
    return Judgement(context.parsed, scores, reward, metrics)


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
        scorer = resolve_component(name)

        def score(completion: Any, example: dict[str, Any]) -> float:
            return scorer(completion, example).value

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


def get_reward(name: str, weights: Mapping[str, float] | None = None) -> Callable[..., list[float]]:
    """A TRL reward function by the name a config uses: ``composite`` (weighted by ``weights``), a registered
    component, or a custom component's dotted path."""
    if name != "composite" and name not in COMPONENTS and not (":" in name or "." in name):
        raise KeyError(f"unknown reward '{name}'; available: {sorted(['composite', *COMPONENTS])}")
    return make_trl_reward(name, weights)
