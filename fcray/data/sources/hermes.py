"""NousResearch/hermes-function-calling-v1: ShareGPT conversations with tools in the system prompt.

A row is ``{"id", "conversations": [{"from": "system"|"human"|"gpt"|"tool", "value": ...}], ...}``, tools
inside ``<tools>...</tools>`` of the system turn (or a ``tools`` field), calls as ``<tool_call>`` blocks in
gpt turns and results as ``<tool_response>`` blocks in tool turns. The real data often writes these as
Python literals (``{'name': 'f', 'arguments': {...}}``); they are read with ``json`` and then
``ast.literal_eval`` (which evaluates no code).

The hermes system text is dropped: it restates the tools and a different call format, and Qwen3's chat
template writes its own tool instructions from ``tools``. The last gpt turn is the reference; earlier
turns are the history. ``fcray.data.export.to_sharegpt`` writes this same format back.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

from fcray.config import DataConfig
from fcray.data.report import LoadReport
from fcray.data.schema import (
    assistant_tool_calls,
    call_category,
    ground_truth_for,
)
from fcray.data.sources.base import canonical, convert_rows, register_source

_TOOLS = re.compile(r"<tools>(.*?)</tools>", re.DOTALL)
_TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
_TOOL_RESPONSE = re.compile(r"<tool_response>\s*(.*?)\s*</tool_response>", re.DOTALL)
_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
          "tool": "tool", "function_response": "tool"}


def parse_literal(text: str, what: str) -> Any:
    """Parse JSON, or a Python literal (hermes writes single-quoted dicts). Never evaluates code."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(f"{what} is neither JSON nor a Python literal: {text[:80]!r}") from None


def parse_tools(text: str) -> list[dict[str, Any]]:
    """Tools from a ``<tools>`` block: a list, or one object per line (Qwen style)."""
    text = text.strip()
    try:
        value = parse_literal(text, "tools")
    except ValueError:
        value = [parse_literal(line, "tool") for line in text.splitlines() if line.strip()]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("the <tools> block is not a list of tools")
    tools = []
    for index, tool in enumerate(value):
        if not isinstance(tool, dict):
            raise ValueError(f"tool #{index} is not an object")
        function = tool.get("function", tool)
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise ValueError(f"tool #{index} has no name")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        tools.append({
            "type": "function",
            "function": {"name": function["name"], "description": str(function.get("description", "")),
                         "parameters": parameters},
        })
    return tools


def parse_calls(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Split a gpt turn into (text outside the calls, calls)."""
    calls = []
    for block in _TOOL_CALL.findall(text):
        call = parse_literal(block, "a <tool_call> block")
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise ValueError("a <tool_call> block has no name")
        arguments = call.get("arguments", {})
        if isinstance(arguments, str):
            arguments = parse_literal(arguments, f"arguments of '{call['name']}'")
        if not isinstance(arguments, dict):
            raise ValueError(f"arguments of '{call['name']}' are not an object")
        calls.append({"name": call["name"], "arguments": arguments})
    if "<tool_call>" in text and not calls:
        raise ValueError("unterminated <tool_call> block")
    return _TOOL_CALL.sub("", text).strip(), calls


def convert_hermes_record(row: Any, location: str, source: str = "hermes") -> dict[str, Any]:
    if not isinstance(row, dict) or not isinstance(row.get("conversations"), list):
        raise ValueError("row has no 'conversations' list")
    turns = row["conversations"]
    tools: list[dict[str, Any]] | None = None
    if row.get("tools"):
        tools = parse_tools(row["tools"] if isinstance(row["tools"], str) else json.dumps(row["tools"]))
    messages: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            raise ValueError(f"turn #{index} needs 'from' and 'value'")
        role = _ROLES.get(turn["from"])
        if role is None:
            raise ValueError(f"turn #{index} has unknown role '{turn['from']}'")
        value = str(turn["value"])
        if role == "system":
            # The prompt's prose says "within <tools> </tools> XML tags" before the real block: use the
            # last non-empty one.
            blocks = [b for b in _TOOLS.findall(value) if b.strip()]
            if blocks and tools is None:
                tools = parse_tools(blocks[-1])
            continue  # see the module docstring
        if role == "assistant":
            content, calls = parse_calls(value)
            messages.append(assistant_tool_calls(calls, content) if calls else {"role": "assistant", "content": content})
        elif role == "tool":
            responses = _TOOL_RESPONSE.findall(value) or [value]
            messages.extend({"role": "tool", "content": r.strip()} for r in responses)
        else:
            messages.append({"role": "user", "content": value})
    if tools is None:
        raise ValueError("no <tools> block in the system turn and no 'tools' field")
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError("the conversation does not end with a gpt turn")
    for call in calls:
        if call["name"] not in {t["function"]["name"] for t in tools}:
            raise ValueError(f"answer names unknown tool '{call['name']}'")
    has_history_calls = any(m.get("tool_calls") for m in messages[:-1])
    category = "multi_turn" if has_history_calls else call_category(calls, len(tools))
    example = {
        "id": f"{source}-{row.get('id', location.rsplit('#', 1)[-1])}",
        "source": source,
        "category": category,
        "messages": messages,
        "tools": tools,
        "ground_truth": ground_truth_for(calls, tools),
        "meta": {"location": location, **{k: row[k] for k in ("category", "subcategory", "task") if k in row}},
    }
    return canonical(example)


@register_source("hermes")
class HermesSource:
    name = "hermes"

    def load(self, config: DataConfig, report: LoadReport) -> Iterator[dict[str, Any]]:
        return convert_rows(config, report, convert_hermes_record)
