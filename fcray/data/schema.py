"""The canonical example: the one record shape every fcray stage reads.

An example is a plain JSON-ready dict::

    {
      "id": "xlam-00017",                 # unique within a dataset
      "source": "xlam",                   # which loader produced it
      "category": "parallel",             # see CATEGORIES
      "messages": [...],                  # OpenAI chat format; the LAST message is the reference
                                          # assistant turn (the SFT target). Everything before it is
                                          # the prompt (see prompt_messages).
      "tools": [{"type": "function", "function": {"name", "description", "parameters": <JSON Schema>}}],
      "ground_truth": {...},              # what a correct final assistant turn does (below)
      "meta": {...}                       # optional provenance: original row, augmentation, holdout
    }

``ground_truth`` is one of::

    {"kind": "call", "calls": [{"name": "f", "arguments": {"x": [1, 1.0], "unit": ["c", ""]}}]}
    {"kind": "no_call"}                          # irrelevance: answer without calling any tool
    {"kind": "ask", "missing": ["city"]}         # slot filling: ask the user for these arguments

Call arguments map each parameter to its list of acceptable values, as BFCL's possible answers do; the
empty string ``""`` in that list means the parameter may be omitted. As in BFCL, an acceptable value
that is an object maps each of its keys to a list of acceptable values too
(``{"address": [{"street": ["12 Main St"], "zip": ["10001"]}]}``), also inside a list of objects. Several calls are matched
order-insensitively (parallel calls). Assistant ``tool_calls`` keep ``arguments`` as JSON objects (dicts),
which is what Qwen3's chat template renders.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema

# single: one tool offered and called; multiple: several offered, one called; parallel: one tool
# called several times; parallel_multiple: several tools called; irrelevance: no offered tool fits;
# slot_filling: a required argument is missing, ask for it; multi_turn: earlier calls and tool
# results in the history; chat: no tools at all.
CATEGORIES = (
    "single", "multiple", "parallel", "parallel_multiple", "irrelevance", "slot_filling", "multi_turn", "chat",
)
ROLES = ("system", "user", "assistant", "tool")

_TOOL_CALL = {
    "type": "object",
    "required": ["function"],
    "properties": {
        "type": {"const": "function"},
        "id": {"type": "string"},
        "function": {
            "type": "object",
            "required": ["name", "arguments"],
            "properties": {"name": {"type": "string", "minLength": 1}, "arguments": {"type": "object"}},
        },
    },
}

CANONICAL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "source", "category", "messages", "tools", "ground_truth"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1},
        "category": {"enum": list(CATEGORIES)},
        "messages": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "required": ["role"],
                "properties": {
                    "role": {"enum": list(ROLES)},
                    "content": {"type": ["string", "null"]},
                    "tool_calls": {"type": "array", "items": _TOOL_CALL},
                    "name": {"type": "string"},
                    "tool_call_id": {"type": "string"},
                },
            },
        },
        "tools": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "function"],
                "properties": {
                    "type": {"const": "function"},
                    "function": {
                        "type": "object",
                        "required": ["name", "parameters"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "description": {"type": "string"},
                            "parameters": {"type": "object"},
                        },
                    },
                },
            },
        },
        "ground_truth": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["kind", "calls"],
                    "properties": {
                        "kind": {"const": "call"},
                        "calls": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["name", "arguments"],
                                "properties": {
                                    "name": {"type": "string", "minLength": 1},
                                    "arguments": {"type": "object", "additionalProperties": {"type": "array"}},
                                },
                            },
                        },
                    },
                },
                {"type": "object", "required": ["kind"], "properties": {"kind": {"const": "no_call"}}},
                {
                    "type": "object",
                    "required": ["kind", "missing"],
                    "properties": {
                        "kind": {"const": "ask"},
                        "missing": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    },
                },
            ]
        },
        "meta": {"type": "object"},
    },
}


class InvalidExample(ValueError):
    """A record is not a valid canonical example; the message says which field and why."""


@functools.cache
def _record_validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(CANONICAL_SCHEMA)
    cls.check_schema(CANONICAL_SCHEMA)
    return cls(CANONICAL_SCHEMA)


def validate_example(example: Any) -> None:
    """Raise :class:`InvalidExample` unless ``example`` is a well-formed canonical example."""
    error = jsonschema.exceptions.best_match(_record_validator().iter_errors(example))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "record"
        raise InvalidExample(f"{where}: {error.message}")
    messages = example["messages"]
    if messages[-1]["role"] != "assistant":
        raise InvalidExample("messages: the last message must be the reference assistant turn")
    names = [t["function"]["name"] for t in example["tools"]]
    if len(set(names)) != len(names):
        raise InvalidExample(f"tools: duplicate tool names {sorted(n for n in set(names) if names.count(n) > 1)}")
    for tool in example["tools"]:
        try:
            jsonschema.validators.validator_for(tool["function"]["parameters"]).check_schema(
                tool["function"]["parameters"]
            )
        except jsonschema.exceptions.SchemaError as exc:
            raise InvalidExample(f"tools/{tool['function']['name']}/parameters: not a valid JSON Schema: {exc.message}")
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in example["tools"]}
    for call in reference_message(example).get("tool_calls") or []:
        name, arguments = call["function"]["name"], call["function"]["arguments"]
        if name not in schemas:
            raise InvalidExample(f"messages: the reference turn calls unknown tool '{name}' (tools: {names})")
        # The reference must satisfy its tool's schema, or the schema reward would punish the truth.
        error = jsonschema.exceptions.best_match(_validator_for(schemas[name]).iter_errors(arguments))
        if error is not None:
            path = "/".join(map(str, error.absolute_path)) or "arguments"
            raise InvalidExample(f"reference call does not satisfy its tool's schema: '{name}' {path}: {error.message}")
    truth = example["ground_truth"]
    if truth["kind"] == "call":
        for call in truth["calls"]:
            if call["name"] not in names:
                raise InvalidExample(f"ground_truth: call names unknown tool '{call['name']}' (tools: {names})")
            for arg, accepted in call["arguments"].items():
                if not accepted:
                    raise InvalidExample(f"ground_truth: argument '{arg}' of '{call['name']}' has no acceptable value")


def _validator_for(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)(schema)


def call_category(calls: list[dict[str, Any]], num_tools: int) -> str:
    """Category of an example whose reference makes ``calls`` with ``num_tools`` tools offered."""
    if not calls:
        return "irrelevance" if num_tools else "chat"
    if len(calls) == 1:
        return "single" if num_tools == 1 else "multiple"
    return "parallel" if len({c["name"] for c in calls}) == 1 else "parallel_multiple"


def ground_truth_for(calls: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    """BFCL-style ground truth for concrete reference calls.

    Arguments given in the reference must have that value (an optional one given at its default may
    also be omitted). Optional parameters the reference leaves out may be omitted or set to their default.
    """
    if not calls:
        return {"kind": "no_call"}
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    truth_calls = []
    for call in calls:
        schema = schemas.get(call["name"], {})
        required = set(schema.get("required", []))
        arguments: dict[str, list[Any]] = {}
        for name, prop in schema.get("properties", {}).items():
            has_default = isinstance(prop, dict) and "default" in prop
            if name in call["arguments"]:
                value = call["arguments"][name]
                arguments[name] = [acceptable(value)]
                if name not in required and has_default and prop["default"] == value:
                    arguments[name].append("")
            elif name not in required:
                arguments[name] = [""] + ([prop["default"]] if has_default and prop["default"] != "" else [])
        for name, value in call["arguments"].items():  # arguments outside the declared properties
            arguments.setdefault(name, [acceptable(value)])
        truth_calls.append({"name": call["name"], "arguments": arguments})
    return {"kind": "call", "calls": truth_calls}


def prompt_messages(example: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation the model sees: every message before the reference assistant turn."""
    return example["messages"][:-1]


def reference_message(example: dict[str, Any]) -> dict[str, Any]:
    """The reference (target) assistant turn."""
    return example["messages"][-1]


def last_user_query(example: dict[str, Any]) -> str:
    """Text of the last user turn of the prompt (the query the split groups by)."""
    for message in reversed(prompt_messages(example)):
        if message["role"] == "user" and message.get("content"):
            return message["content"]
    return ""


def as_openai_tool(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


def assistant_tool_calls(calls: list[dict[str, Any]], content: str = "") -> dict[str, Any]:
    """An assistant message that makes ``calls`` (each ``{"name", "arguments"}`` with concrete values)."""
    return {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls
        ],
    }


def acceptable(value: Any) -> Any:
    """A concrete value in ground-truth form: objects map each key to a one-element list (BFCL's shape)."""
    if isinstance(value, dict):
        return {k: [acceptable(v)] for k, v in value.items()}
    if isinstance(value, list):
        return [acceptable(v) if isinstance(v, dict) else v for v in value]
    return value
