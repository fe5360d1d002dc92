"""Seeded generator of the embedded function-calling task (canonical examples).

Queries are composed from the catalog's intent and mention phrasings, so every argument value in the
reference call is stated in the query (an exact, checkable task). Categories: ``single`` (one tool
offered), ``multiple`` (the right tool among distractors), ``parallel`` (one tool called 2-3 times) and
``parallel_multiple`` (two different tools). No-call, slot-filling and multi-turn examples come from
:mod:`fcray.data.augment`, the same code that augments xlam data.

Each example records in ``meta.spans`` the exact text that states each argument, so augmentation can
remove an argument from a query cleanly; ``meta.holdout`` marks examples built on held-out tools.
"""

from __future__ import annotations

import random
from typing import Any

from fcray.data.schema import assistant_tool_calls, call_category, ground_truth_for
from fcray.synth.catalog import CATALOG, ParamSpec, ToolSpec

_OPENERS = ("", "", "Please ", "Can you ", "Could you ", "I need to ", "I want to ", "Hey, ", "Quick one: ",
            "Help me ")
_CLOSERS = ("", ".", "?", " please.", ", thanks!", " right away.")
_JOINERS = (" and also ", ", then ", ". Also ", " and ", "; after that ")
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
CATEGORY_WEIGHTS = {"single": 0.25, "multiple": 0.4, "parallel": 0.15, "parallel_multiple": 0.2}


def _join_list(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _pool(param: ParamSpec, earlier: dict[str, Any]) -> tuple[Any, ...]:
    """The values of ``param`` that make sense beside the arguments already chosen (the simulators reject
    the others: a flight to the airport it leaves from, km into kg)."""
    pool = param.pool
    if param.unlike in earlier:
        pool = tuple(v for v in pool if v != earlier[param.unlike])
    if param.given and param.given[0] in earlier:
        other, pairs = param.given
        pool = tuple(v for v in pool if (earlier[other], v) in pairs)
    return pool


class _Sampler:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def value(self, param: ParamSpec, earlier: dict[str, Any] | None = None) -> tuple[Any, str]:
        """A value for ``param`` and the words that state it in a query; ``earlier``: the call's arguments
        so far, which ``param.unlike`` / ``param.given`` constrain it by."""
        rng = self.rng
        if param.kind in ("string", "enum"):
            value = rng.choice(_pool(param, earlier or {}))
            return value, str(value)
        if param.kind == "integer":
            value = rng.randint(int(param.low), int(param.high))
            in_words = value <= 10 and rng.random() < 0.15 and not any("{v}%" in m for m in param.mentions)
            return value, _NUMBER_WORDS[value] if in_words else str(value)
        if param.kind == "number":
            value = round(rng.uniform(param.low, param.high), param.decimals)
            if param.decimals == 0:
                value = int(value)
            return value, f"{value:.{param.decimals}f}" if param.decimals else str(value)
        if param.kind == "array":
            items = rng.sample(list(param.pool), k=rng.randint(1, min(3, len(param.pool))))
            return items, _join_list(items)
        if param.kind == "object":
            value, words = {}, []
            for field in param.fields:
                field_value, field_words = self.value(field)
                value[field.name] = field_value
                words.append(rng.choice(field.mentions).format(v=field_words))
            return value, " ".join(words)
        raise ValueError(f"unknown parameter kind '{param.kind}'")

    def boolean(self, param: ParamSpec) -> tuple[bool, str]:
        value = self.rng.random() < 0.5
        return value, param.mentions[0] if value else param.mentions[1]


def compose_call(tool: ToolSpec, rng: random.Random) -> tuple[dict[str, Any], str, dict[str, str]]:
    """One call of ``tool``: (call, clause stating it, {param: exact text stating that argument})."""
    sampler = _Sampler(rng)
    arguments: dict[str, Any] = {}
    bare, placed = [], []  # bare mentions ("{v}") keep declaration order, the rest are shuffled
    spans: dict[str, str] = {}
    for param in tool.params:
        if not param.required and rng.random() < 0.5:
            continue  # optional parameters are stated about half of the time
        if param.kind == "boolean":
            value, text = sampler.boolean(param)
        else:
            value, words = sampler.value(param, arguments)
            text = rng.choice(param.mentions).format(v=words)
        arguments[param.name] = value
        spans[param.name] = text
        (bare if param.mentions[0] == "{v}" else placed).append(text)
    rng.shuffle(placed)
    clause = " ".join([rng.choice(tool.intents), *bare, *placed])
    return {"name": tool.name, "arguments": arguments}, clause, spans


def _query(clauses: list[str], rng: random.Random) -> str:
    body = clauses[0]
    for clause in clauses[1:]:
        body += rng.choice(_JOINERS) + clause
    text = rng.choice(_OPENERS) + body + rng.choice(_CLOSERS)
    return text[0].upper() + text[1:]


def generate_example(index: int, category: str, targets_pool: list[ToolSpec], distractor_pool: list[ToolSpec],
                     max_tools: int, rng: random.Random, holdout: bool) -> dict[str, Any]:
    if category == "parallel":
        tool = rng.choice(targets_pool)
        targets = [tool] * rng.randint(2, 3)
    elif category == "parallel_multiple":
        targets = rng.sample(targets_pool, 2)
    else:
        targets = [rng.choice(targets_pool)]
    calls, clauses, spans = [], [], []
    for tool in targets:
        call, clause, call_spans = compose_call(tool, rng)
        calls.append(call)
        clauses.append(clause)
        spans.append(call_spans)
    offered = list(dict.fromkeys(targets))  # unique, in order
    if category in ("multiple", "parallel_multiple", "parallel") and max_tools > len(offered):
        extra = [t for t in distractor_pool if t not in offered]
        lo = 1 if category == "multiple" else 0
        offered += rng.sample(extra, rng.randint(lo, min(max_tools - len(offered), len(extra))))
    rng.shuffle(offered)
    tools = [t.openai_tool() for t in offered]
    example_id = f"synthetic-{index:06d}"
    return {
        "id": example_id,
        "source": "synthetic",
        "category": call_category(calls, len(tools)),
        "messages": [{"role": "user", "content": _query(clauses, rng)}, assistant_tool_calls(calls)],
        "tools": tools,
        "ground_truth": ground_truth_for(calls, tools),
        "meta": {"spans": spans, "holdout": holdout},
    }


def generate_examples(num_examples: int, seed: int = 42, max_tools: int = 3,
                      holdout_share: float = 0.05) -> list[dict[str, Any]]:
    """``num_examples`` examples; a ``holdout_share`` of them call held-out tools (validation only)."""
    rng = random.Random(seed)
    train_tools = [t for t in CATALOG if not t.holdout]
    holdout_tools = [t for t in CATALOG if t.holdout]
    categories, weights = zip(*CATEGORY_WEIGHTS.items())
    num_holdout = round(num_examples * holdout_share) if holdout_tools else 0
    examples = []
    for index in range(num_examples):
        holdout = index >= num_examples - num_holdout
        category = rng.choices(categories, weights)[0]
        targets = holdout_tools if holdout else train_tools
        # Held-out examples may use any tool as a distractor; training examples never see held-out tools.
        distractors = list(CATALOG) if holdout else train_tools
        examples.append(generate_example(index, category, targets, distractors, max_tools, rng, holdout))
    return examples
