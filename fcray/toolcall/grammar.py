"""The grammar of a well-formed answer, for constrained decoding: "a text answer, or one or more
``<tool_call>`` blocks whose JSON fits one offered tool's schema".

One grammar serves every runtime: it is LLGuidance's Lark dialect with the tools' JSON Schemas inlined
(``%json {...}``), which vLLM's structured outputs (its ``guidance`` backend) and llama.cpp's completion
endpoint (``%llguidance`` grammars) both compile; LLGuidance turns the schemas into a grammar, fcray only
writes the frame around them. The frame is exactly the format the parser's strict mode accepts
(:mod:`fcray.toolcall.parse`) and the model was trained on:

* ``<tool_call>`` / ``</tool_call>`` are the tokenizer's own added tokens (as in Qwen3's vocabulary), so a
  call opens with the token the model learned, never with the same characters spelled out. That is how
  vLLM's LLGuidance sees them (``tags_as_tokens``); llama.cpp's knows only control tokens as special and
  ignores a grammar that names another one (it logs "unknown special token" and decodes unconstrained), so
  for llama.cpp the tags are text, which the model's single tag token spells. llama.cpp's LLGuidance also
  ends a grammar on its own end-of-sequence token, not on the chat template's end of turn (``<|im_end|>``):
  a model that ends its answer with ``<|im_end|>`` would be kept writing calls until ``max_calls``. So the
  llama.cpp variant names the end-of-turn token (``end_token``) as the grammar's last symbol;
* the JSON is ``{"name": <one offered name>, "arguments": {...}}`` with ``", "`` and ``": "`` separators (what
  the chat template writes), properties in the schema's order, no undeclared argument (the checker treats
  declared objects as closed, :func:`fcray.toolcall.schema.to_json_schema`);
* a text answer may not contain ``<tool_call>``, so anything that looks like a call is a checked call.

Bounds keep a constrained answer finite even for a model that has learnt nothing (model A): at most
``max_calls`` blocks; strings whose schema sets no ``maxLength`` get ``max_string_length``; numbers without
bounds get JSON's safe-integer range. Without them an untrained model writes one string (or "1111...")
until ``max_new_tokens`` cuts it off mid-JSON. A grammar bounds characters, not tokens: a model that fills
every string to its bound can still run out of tokens, which the measurements in docs/constrained.md show.

>>> tools = [{"type": "function", "function": {"name": "get_weather",
...           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
>>> print(tool_call_grammar(tools, require_call=True).splitlines()[1])
start: calls
>>> '"const": "get_weather"' in tool_call_grammar(tools)
True
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fcray.toolcall.schema import to_json_schema

# The spacing of Qwen3's chat template (json.dumps defaults): constrained output is the text the model was
# trained on, token for token, not a compact variant the model has never seen.
_JSON_STYLE = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


class GrammarError(ValueError):
    """A tool list no grammar can be built from (named in the message)."""


# Numbers without bounds get these: JSON's safe integers (2**53 ~ 9e15), so the integer part of a number ends
# after 16 digits (an untrained model otherwise writes "1111..." until it is cut off).
NUMBER_BOUND = 10**15
# Decimals of a non-negative number: at most 6 (metres in degrees of latitude). LLGuidance bounds decimals only
# through multipleOf, which it allows for non-negative numbers only, so negative numbers' decimals stay free.
DECIMALS = 1e-6


def _bounded(schema: Any, max_length: int) -> Any:
    """``schema`` with ``maxLength`` on every string type, and ``minimum``/``maximum`` on every number type,
    that has no bound, enum or const of its own."""
    if isinstance(schema, list):
        return [_bounded(s, max_length) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _bounded(v, max_length) if isinstance(v, (dict, list)) else v for k, v in schema.items()}
    if isinstance(schema.get("properties"), dict):  # property names are not schemas' keywords
        out["properties"] = {k: _bounded(v, max_length) for k, v in schema["properties"].items()}
    if any(k in schema for k in ("enum", "const")):
        return out
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    if "string" in kinds and "maxLength" not in schema:
        out["maxLength"] = max_length
    if kinds & {"integer", "number"}:
        if not any(k in schema for k in ("minimum", "exclusiveMinimum")):
            out["minimum"] = -NUMBER_BOUND
        if not any(k in schema for k in ("maximum", "exclusiveMaximum")):
            out["maximum"] = NUMBER_BOUND
        if kinds == {"number"} and "multipleOf" not in schema and out.get("minimum", -1) < 0 <= out.get("maximum", 1):
            negative = {**out, "exclusiveMaximum": 0}
            negative.pop("maximum", None)
            positive = {**out, "minimum": 0, "multipleOf": DECIMALS}
            return {"anyOf": [positive, negative]}
    return out


def call_schema(tool: dict[str, Any], max_string_length: int = 64) -> dict[str, Any]:
    """The JSON Schema of one call of ``tool``: ``{"name": const, "arguments": <its parameters>}``.

    >>> call_schema({"function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}})["required"]
    ['name', 'arguments']
    """
    function = tool.get("function", tool)
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise GrammarError(f"a tool without a name cannot be constrained to: {json.dumps(tool)[:200]}")
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    arguments = to_json_schema(copy.deepcopy(parameters))
    if isinstance(arguments, dict):
        arguments.setdefault("type", "object")
        arguments.setdefault("additionalProperties", False)  # also for an object without declared properties
    return {"type": "object", "properties": {"name": {"const": name}, "arguments": _bounded(arguments, max_string_length)},
            "required": ["name", "arguments"], "additionalProperties": False}


def tool_call_grammar(tools: list[dict[str, Any]], *, require_call: bool = False, max_calls: int = 4,
                      max_string_length: int = 64, enable_thinking: bool = False, tags_as_tokens: bool = True,
                      end_token: str | None = None) -> str:
    """The LLGuidance Lark grammar of an answer to a prompt offering ``tools``.

    ``require_call``: one or more calls, no text answer. ``enable_thinking``: a ``<think>...</think>``
    block comes first (Qwen3's reasoning mode). ``tags_as_tokens``: the tags are the vocabulary's special
    tokens (vLLM) rather than text (llama.cpp). ``end_token``: the answer ends with this special token
    (llama.cpp: the template's end of turn, e.g. ``<|im_end|>``). The result starts with ``%llguidance {}``,
    which is what llama.cpp needs to pick LLGuidance and what vLLM's guidance backend accepts as it is.
    """
    if not tools:
        raise GrammarError("constrained decoding needs at least one offered tool (this prompt has none)")
    if max_calls < 1:
        raise GrammarError(f"max_calls must be >= 1, got {max_calls}")
    body = {"anyOf": [call_schema(t, max_string_length) for t in tools], "x-guidance": _JSON_STYLE}
    answer = "calls" if require_call else "TEXT | calls"
    start = answer
    if enable_thinking or end_token:
        start = f"{'think ' if enable_thinking else ''}({answer})" + (f" {end_token}" if end_token else "")

    def tag(name: str) -> str:
        return f"<{name}>" if tags_as_tokens else f'"<{name}>"'

    lines = [
        "%llguidance {}",
        f"start: {start}",
        # A text answer: not empty, not starting like markup, never containing a call's opening tag.
        r"TEXT: /[^<](.|\n)*/ & ~/(.|\n)*<tool_call>(.|\n)*/",
        f'calls: call ("\\n" call){{0,{max_calls - 1}}}' if max_calls > 1 else "calls: call",  # {0,0}: an error
        f'call: {tag("tool_call")} "\\n" body "\\n" {tag("/tool_call")}',
        "body: %json " + json.dumps(body),
    ]
    if enable_thinking:
        lines.append(f'think: {tag("think")} THOUGHT {tag("/think")} "\\n\\n"')
        lines.append(r"THOUGHT: /(.|\n)*/ & ~/(.|\n)*<\/think>(.|\n)*/")
    return "\n".join(lines) + "\n"


def check_grammar(grammar: str, tokenizer: Any = None) -> None:
    """Compile ``grammar`` with LLGuidance (against ``tokenizer``'s vocabulary when given: a Hugging Face
    tokenizer); raises :class:`GrammarError` with LLGuidance's message when it does not compile."""
    import llguidance

    compiled = llguidance.grammar_from("lark", grammar)
    if tokenizer is not None:
        import llguidance.hf

        error = llguidance.LLMatcher.validate_grammar(compiled, llguidance.hf.from_tokenizer(tokenizer))
    else:
        error = llguidance.LLMatcher.validate_grammar(compiled)
    if error:
        raise GrammarError(f"the tool-call grammar does not compile: {error}")


def grammar_for(tools: list[dict[str, Any]] | None, decoding: Any, enable_thinking: bool = False,
                tags_as_tokens: bool = True, end_token: str | None = None) -> str | None:
    """The grammar ``decoding`` (a :class:`fcray.config.DecodingConfig`) asks for on a prompt offering
    ``tools``; None when decoding is not constrained or the prompt offers no tool (its answer is text)."""
    if decoding is None or not decoding.constrained or not tools:
        return None
    return tool_call_grammar(tools, require_call=decoding.require_call, max_calls=decoding.max_calls,
                             max_string_length=decoding.max_string_length, enable_thinking=enable_thinking,
                             tags_as_tokens=tags_as_tokens, end_token=end_token)
