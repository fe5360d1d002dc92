"""Execute parsed calls, so that "executable" means something.

Every tool has an implementation: a real Python function registered for its name, or the stub. The stub
accepts exactly the calls that satisfy the tool's schema and returns a deterministic result
(:func:`tool_result_for`, the same result the multi-turn training data shows: fcray.data.augment uses it).
Arguments are validated before any implementation runs; an implementation's exception, or a result that
is not JSON-serialisable, is caught and reported — never raised into the caller. Nothing here evaluates
argument text as code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fcray.toolcall.parse import Call
from fcray.toolcall.schema import SchemaIssue, tool_index

def tool_result_for(call: dict[str, Any]) -> dict[str, Any]:
    """A deterministic stand-in result for ``call``: what the stub executor returns, and what the multi-turn
    training data (fcray.data.augment) shows as the tool's answer."""
    canonical = json.dumps({"name": call["name"], "arguments": call["arguments"]}, sort_keys=True)
    return {"status": "ok", "function": call["name"], "result_id": hashlib.sha256(canonical.encode()).hexdigest()[:8]}


@dataclass(slots=True)
class Execution:
    ok: bool
    result: Any = None
    reason: str = ""
    detail: str = ""


class ToolRegistry:
    """Name -> Python implementation. Unregistered tools use the stub."""

    def __init__(self) -> None:
        self._impls: dict[str, Callable[..., Any]] = {}

    def register(self, name: str, fn: Callable[..., Any] | None = None):
        """``registry.register("get_weather", fn)`` or as a decorator ``@registry.register("get_weather")``."""
        if fn is None:
            return lambda f: self.register(name, f)
        self._impls[name] = fn
        return fn

    def implementation(self, name: str) -> Callable[..., Any] | None:
        return self._impls.get(name)

    def execute(self, call: Call, tools: list[dict[str, Any]],
                issues: list[SchemaIssue] | None = None) -> Execution:
        """Run ``call``. ``issues`` (from the schema check) avoids validating twice."""
        if issues is None:
            issues = tool_index(tools).check(call)
        if issues:
            reason = "unknown_function" if issues[0].reason == "unknown_function" else "invalid_arguments"
            return Execution(False, reason=reason, detail="; ".join(f"{i.path or 'arguments'}: {i.detail}" for i in issues))
        impl = self._impls.get(call.name)
        if impl is None:
            return Execution(True, tool_result_for(call.to_dict()))
        try:
            result = impl(**call.arguments)
        except Exception as exc:  # a tool's bug must not crash scoring
            return Execution(False, reason="raised", detail=f"{type(exc).__name__}: {exc}")
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            return Execution(False, reason="bad_result", detail=f"result is not JSON-serialisable: {exc}")
        return Execution(True, result)


DEFAULT_REGISTRY = ToolRegistry()
