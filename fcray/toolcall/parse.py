"""Extract tool calls from a model completion.

Three input shapes: Qwen3's Hermes text (``<tool_call>\\n{...}\\n</tool_call>``), a bare JSON object or list
(lenient mode only), and OpenAI ``tool_calls`` objects from an API response (:func:`parse_openai_tool_calls`).

Two modes, chosen to agree with what serves and what referees the model:

* ``strict`` (the default; what training rewards and evaluation use): exactly the format of
  ../shared/README.md and BFCL's Qwen handler — each block is ``<tool_call>\\n`` + one JSON object with a
  string ``name`` and an object ``arguments`` + ``\\n</tool_call>``. Like vLLM's hermes parser, one
  invalid block invalidates the whole completion (the served API would return no tool calls at all).
* ``lenient``: any whitespace inside the tags, a final block whose closing tag was cut off (complete JSON
  only), ``arguments`` given as a JSON string or under ``parameters``, OpenAI-style
  ``{"type": "function", "function": {...}}`` objects, and — when there is no tag at all — a bare JSON
  call object or list of them. It never evaluates code (no ``eval``/``literal_eval``).

In both modes a ``<think>...</think>`` block is removed before parsing: calls written inside the reasoning
are not calls (vLLM with a reasoning parser drops them too). Text outside the blocks is ``content``.
Every failure has a reason code: ``unterminated_tag``, ``bad_format`` (strict: tags without their
newlines), ``invalid_json``, ``missing_name``,
``arguments_not_object``; no markup at all gives status ``no_call`` (correct when no call is expected).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["strict", "lenient"]

_THINK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
_OPEN_THINK = re.compile(r"<think>.*\Z", re.DOTALL)  # reasoning never closed: everything after is reasoning
_STRICT_BLOCK = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)
_LENIENT_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|\Z)", re.DOTALL)
_END_TOKENS = ("<|im_end|>", "<|endoftext|>")

PARSE_FAILURES = ("unterminated_tag", "bad_format", "invalid_json", "missing_name", "arguments_not_object")


@dataclass(slots=True)
class Call:
    name: str
    arguments: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass(slots=True)
class Parsed:
    """Outcome of parsing one completion. ``status`` is ``ok``, ``no_call`` or a failure reason."""

    status: str
    calls: list[Call] = field(default_factory=list)
    content: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def failed(self) -> bool:
        return self.status in PARSE_FAILURES


class _CallError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _to_call(obj: Any, lenient: bool) -> Call:
    if lenient and isinstance(obj, dict) and isinstance(obj.get("function"), dict):
        obj = obj["function"]  # OpenAI {"type": "function", "function": {...}}
    if not isinstance(obj, dict):
        raise _CallError("missing_name", f"a call must be a JSON object, got {type(obj).__name__}")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise _CallError("missing_name", "the call has no string 'name'")
    if "arguments" in obj:
        arguments = obj["arguments"]
    elif lenient and "parameters" in obj:
        arguments = obj["parameters"]
    else:
        raise _CallError("arguments_not_object", f"call '{name}' has no 'arguments'")
    if lenient and isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            raise _CallError("arguments_not_object", f"arguments of '{name}' are a string that is not JSON") from None
    if not isinstance(arguments, dict):
        raise _CallError("arguments_not_object", f"arguments of '{name}' must be an object, got {type(arguments).__name__}")
    return Call(name, arguments)


def _strip(text: str) -> str:
    for token in _END_TOKENS:
        text = text.replace(token, "")
    text = _THINK.sub("", text)
    return _OPEN_THINK.sub("", text)


def parse_completion(completion: str, mode: Mode = "strict") -> Parsed:
    """Parse a completion's text. Never raises on model output."""
    if not isinstance(completion, str):
        return Parsed("invalid_json", detail=f"completion must be text, got {type(completion).__name__}")
    lenient = mode == "lenient"
    text = _strip(completion)
    if "<tool_call>" not in text:
        if lenient:
            bare = _parse_bare_json(text)
            if bare is not None:
                return bare
        if "</tool_call>" in text:
            return Parsed("unterminated_tag", content=text.strip(), detail="'</tool_call>' without '<tool_call>'")
        return Parsed("no_call", content=text.strip())
    pattern = _LENIENT_BLOCK if lenient else _STRICT_BLOCK
    blocks = list(pattern.finditer(text))
    n_open = text.count("<tool_call>")
    if not lenient and text.count("</tool_call>") != n_open:
        return Parsed("unterminated_tag", content=text.strip(),
                      detail=f"{n_open} '<tool_call>' but {text.count('</tool_call>')} '</tool_call>'")
    if not lenient and len(blocks) != n_open:
        return Parsed("bad_format", content=text.strip(),
                      detail="each call must be exactly '<tool_call>\\n{json}\\n</tool_call>' (newlines included)")
    calls = []
    for block in blocks:
        try:
            obj = json.loads(block.group(1))
        except json.JSONDecodeError as exc:
            return Parsed("invalid_json", content=text.strip(), detail=f"block {len(calls) + 1}: {exc.msg} at column {exc.colno}")
        try:
            calls.append(_to_call(obj, lenient))
        except _CallError as exc:
            return Parsed(exc.reason, content=text.strip(), detail=f"block {len(calls) + 1}: {exc}")
    content = pattern.sub("", text).strip()
    return Parsed("ok", calls, content)


def _parse_bare_json(text: str) -> Parsed | None:
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        obj = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    items = obj if isinstance(obj, list) else [obj]
    if not items or not all(isinstance(i, dict) and ("name" in i or "function" in i) for i in items):
        return None
    try:
        return Parsed("ok", [_to_call(i, True) for i in items])
    except _CallError as exc:
        return Parsed(exc.reason, detail=str(exc))


def parse_openai_tool_calls(tool_calls: list[Any] | None, content: str | None = "") -> Parsed:
    """Calls from an OpenAI-compatible response message (``message.tool_calls``), arguments as JSON text."""
    if not tool_calls:
        return Parsed("no_call", content=content or "")
    calls = []
    for index, item in enumerate(tool_calls):
        function = item.get("function") if isinstance(item, dict) else getattr(item, "function", None)
        if function is not None and not isinstance(function, dict):
            function = {"name": getattr(function, "name", None), "arguments": getattr(function, "arguments", None)}
        if not isinstance(function, dict):
            return Parsed("missing_name", content=content or "", detail=f"tool_calls[{index}] has no function")
        try:
            calls.append(_to_call(function, lenient=True))
        except _CallError as exc:
            return Parsed(exc.reason, content=content or "", detail=f"tool_calls[{index}]: {exc}")
    return Parsed("ok", calls, content or "")


def format_calls(calls: list[dict[str, Any]], content: str = "") -> str:
    """Completion text for ``calls`` (``{"name", "arguments"}``) exactly as Qwen3's chat template writes an
    assistant turn: optional content, then one ``<tool_call>`` block per call, joined by newlines."""
    blocks = [f"<tool_call>\n{json.dumps({'name': c['name'], 'arguments': c['arguments']}, ensure_ascii=False)}\n</tool_call>"
              for c in calls]
    return "\n".join(([content] if content else []) + blocks)


def format_message(message: dict[str, Any]) -> str:
    """Completion text of an assistant message in OpenAI format (the reference turn of an example)."""
    calls = [c.get("function", c) for c in message.get("tool_calls") or []]
    return format_calls(calls, message.get("content") or "")


def as_parsed(completion: Any, mode: Mode = "strict") -> Parsed:
    """Accept a :class:`Parsed`, completion text, or a chat message dict (``content`` + ``tool_calls``)."""
    if isinstance(completion, Parsed):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        completion = completion[-1]  # TRL conversational format: [{"role": "assistant", "content": ...}]
    if isinstance(completion, dict):
        if completion.get("tool_calls"):
            return parse_openai_tool_calls(completion["tool_calls"], completion.get("content"))
        completion = completion.get("content") or ""
    return parse_completion(completion, mode)
