"""Validate parsed calls against their tools' JSON Schemas (with ``jsonschema``).

Tools may be written in standard JSON Schema or in BFCL's dialect, which :func:`to_json_schema` maps:
``dict`` → ``object``, ``float`` → ``number``, ``tuple`` → ``array``, ``any`` → no type constraint.
An object that declares ``properties`` and says nothing about ``additionalProperties`` is treated as
closed, so an argument the tool does not declare is reported (``unexpected_argument``) — function
signatures are closed even though JSON Schema objects are open by default.

Compiled validators are cached by schema text (thousands of completions per GRPO step share a handful of
tools); :func:`tool_index` caches the per-tool-list lookup for repeated scoring of one example.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import jsonschema

from fcray.toolcall.cache import by_identity
from fcray.toolcall.parse import Call

_DIALECT_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}
SCHEMA_FAILURES = ("unknown_function", "missing_required", "wrong_type", "enum_violation", "unexpected_argument",
                   "invalid_value")
_REASONS = {"required": "missing_required", "type": "wrong_type", "enum": "enum_violation", "const": "enum_violation",
            "additionalProperties": "unexpected_argument"}


def to_json_schema(schema: Any) -> Any:
    """Standard JSON Schema for a (possibly BFCL-dialect) parameter schema; closes declared objects."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    kind = out.get("type")
    if isinstance(kind, str) and kind in _DIALECT_TYPES:
        if _DIALECT_TYPES[kind] is None:
            del out["type"]
        else:
            out["type"] = _DIALECT_TYPES[kind]
    elif isinstance(kind, list):
        out["type"] = [_DIALECT_TYPES.get(k, k) for k in kind if _DIALECT_TYPES.get(k, k) is not None] or None
        if out["type"] is None:
            del out["type"]
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: to_json_schema(v) for k, v in out["properties"].items()}
        out.setdefault("additionalProperties", False)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = to_json_schema(out[key])
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if isinstance(out.get(key), list):
            out[key] = [to_json_schema(s) for s in out[key]]
    out.pop("optional", None)  # BFCL-only annotation
    return out


@functools.lru_cache(maxsize=8192)
def _compiled(schema_text: str) -> jsonschema.protocols.Validator:
    schema = to_json_schema(json.loads(schema_text))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def validator_for(parameters: dict[str, Any]) -> jsonschema.protocols.Validator:
    return _compiled(json.dumps(parameters, sort_keys=True))


@dataclass(slots=True)
class SchemaIssue:
    reason: str   # one of SCHEMA_FAILURES
    path: str     # argument path, e.g. "address/zip"
    detail: str


class ToolIndex:
    """Tools of one example by name, with their compiled validators."""

    __slots__ = ("tools", "parameters", "_validators")

    def __init__(self, tools: list[dict[str, Any]]) -> None:
        self.tools = tools
        self.parameters: dict[str, dict[str, Any]] = {}
        for tool in tools:
            function = tool.get("function", tool)  # OpenAI format or a bare BFCL function doc
            self.parameters[function["name"]] = function.get("parameters") or {"type": "object", "properties": {}}
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def validator(self, name: str) -> jsonschema.protocols.Validator:
        validator = self._validators.get(name)
        if validator is None:
            validator = self._validators[name] = validator_for(self.parameters[name])
        return validator

    def check(self, call: Call) -> list[SchemaIssue]:
        """Every way ``call`` violates its tool's schema; empty when it is valid."""
        if call.name not in self.parameters:
            return [SchemaIssue("unknown_function", "", f"no tool named '{call.name}' (tools: {sorted(self.parameters)})")]
        issues = []
        for error in self.validator(call.name).iter_errors(call.arguments):
            path = "/".join(str(p) for p in error.absolute_path)
            if error.validator == "additionalProperties":
                extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
                path = "/".join(filter(None, [path, ",".join(extra)]))
            issues.append(SchemaIssue(_REASONS.get(error.validator, "invalid_value"), path, error.message))
        return issues


@by_identity()
def tool_index(tools: list[dict[str, Any]]) -> ToolIndex:
    """The (cached) :class:`ToolIndex` for this tools list object."""
    return ToolIndex(tools)


def check_calls(calls: list[Call], tools: list[dict[str, Any]]) -> list[list[SchemaIssue]]:
    """Schema issues per call (same order as ``calls``)."""
    index = tool_index(tools)
    return [index.check(call) for call in calls]
