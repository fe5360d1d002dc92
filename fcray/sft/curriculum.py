"""The order SFT sees its rows in: an optional schema-free warm-up, then the full rows.

A function-calling prompt is mostly its tool schemas (~90% of the tiny preset's tokens). A small model
learns the call format, picks the function and copies argument values from the request much faster in a
short context, and keeps those skills when the schemas come back; from there, the full rows teach it to
read the offered schemas (measured in docs/results/2026-12-07-schema-free-warmup.md). So with
``sft.schema_free_epochs`` > 0 the training order is:

1. the rows whose answer is a call, rendered without their tool schemas, ``schema_free_epochs`` passes;
   rows whose answer depends on which tools are offered (answers without a call: no tool fits, a missing
   argument, chat) wait for phase 2, where their tools are shown;
2. every row with its schemas, ``num_train_epochs`` passes.

With ``sft.schema_free_tools: names`` the warm-up keeps the tool block with each tool's name only, and takes
every row (which tools are offered is then visible).

Each pass is shuffled from the seed; rows are then ordered by length within windows of a few batches (as
``group_by_length`` does, which a fixed order replaces), and trained in this order with one learning-rate
schedule over both phases.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

from fcray.data.augment import with_tool_names
from fcray.data.schema import reference_message

WINDOW_BATCHES = 16  # global batches per length-sorted window: less padding, batches still mixed


def answers_with_call(example: dict[str, Any]) -> bool:
    """Whether the example's reference (last) turn calls a tool.

    >>> answers_with_call({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]})
    False
    >>> answers_with_call({"messages": [{"role": "user", "content": "rain?"},
    ...     {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {}}}]}]})
    True
    """
    return bool(reference_message(example).get("tool_calls"))


def without_schemas(example: dict[str, Any]) -> dict[str, Any]:
    """The example with no tools offered (the chat template then renders no tool block). A row whose tools
    were offered under other names (``data.augment.rename_tools_ratio``) gets their own names back: without
    the schemas, nothing in the prompt would say which name to call."""
    renamed = example.get("meta", {}).get("renamed")
    if renamed:
        example = with_tool_names(example, {new: old for old, new in renamed.items()})
    return {**example, "tools": []}


def with_names_only(example: dict[str, Any]) -> dict[str, Any]:
    """The example with its tools offered by name only: the tool block stays, each schema shrinks to its name.

    >>> tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather.", "parameters": {}}}
    >>> with_names_only({"messages": [], "tools": [tool]})["tools"]
    [{'type': 'function', 'function': {'name': 'get_weather'}}]
    """
    return {**example, "tools": [{"type": "function", "function": {"name": t["function"]["name"]}}
                                 for t in example["tools"]]}


def warmup_rows(examples: list[dict[str, Any]], tools: str) -> list[dict[str, Any]]:
    """The rows of a warm-up pass. Without a tool block, only the rows whose answer is a call (an answer
    without one depends on which tools are offered, which the prompt no longer says); with the names,
    every row: "no tool fits", "which argument is missing" and "which tool" are all decidable from them."""
    if tools == "names":
        return [with_names_only(e) for e in examples]
    return [without_schemas(e) for e in examples if answers_with_call(e)]


def _passes(rows: list[dict[str, Any]], epochs: float, rng: random.Random) -> list[dict[str, Any]]:
    """``epochs`` shuffled passes over ``rows`` (a fraction takes the start of one more shuffled pass)."""
    out: list[dict[str, Any]] = []
    whole, part = divmod(epochs, 1)
    for _ in range(int(whole) + (1 if part else 0)):
        order = rows[:]
        rng.shuffle(order)
        out += order
    return out[:math.ceil(len(rows) * epochs)]


def _by_length_in_windows(rows: list[dict[str, Any]], window: int, length) -> list[dict[str, Any]]:
    return [r for start in range(0, len(rows), window) for r in sorted(rows[start:start + window], key=length)]


def rendered_length(example: dict[str, Any]) -> int:
    """Characters of the example's messages and tools as JSON: a cheap stand-in for its token count.

    >>> rendered_length({"messages": [], "tools": []})
    4
    """
    return len(json.dumps(example["messages"])) + len(json.dumps(example["tools"]))


def training_order(examples: list[dict[str, Any]], schema_free_epochs: float, epochs: float, seed: int,
                   global_batch: int, length=rendered_length,
                   tools: str = "none") -> tuple[list[dict[str, Any]], int]:
    """The rows of one ordered epoch, and how many of them (the first) are the schema-free warm-up: passes
    over the :func:`warmup_rows` (``tools``: "none" or "names"), then ``epochs`` passes over every row.

    >>> call = {"messages": [{"role": "user", "content": "x"},
    ...     {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]}], "tools": [{"t": 1}]}
    >>> chat = {"messages": [{"role": "user", "content": "y"}, {"role": "assistant", "content": "z"}], "tools": [{"t": 1}]}
    >>> rows, warmup = training_order([call, chat], schema_free_epochs=2, epochs=1, seed=0, global_batch=1)
    >>> warmup, [len(r["tools"]) for r in rows]  # 2 passes over the call row without tools, then both with them
    (2, [0, 0, 1, 1])
    """
    rng = random.Random(seed)
    warmup = _passes(warmup_rows(examples, tools), schema_free_epochs, rng)
    full = _passes(list(examples), epochs, rng)
    window = max(1, global_batch * WINDOW_BATCHES)
    return _by_length_in_windows(warmup, window, length) + _by_length_in_windows(full, window, length), len(warmup)


def full_phase_steps(rows: int, warmup_rows: int, global_batch: int) -> int:
    """Optimizer steps of the phase with schemas: the batches holding any of its rows (the one that straddles
    the boundary included).

    >>> full_phase_steps(rows=100, warmup_rows=60, global_batch=8)  # batches 7..12 (60 rows fill 7.5 batches)
    6
    """
    return math.ceil(rows / global_batch) - warmup_rows // global_batch
