"""Execute parsed calls, so that "executable" means something.

Every tool has an implementation: a Python function registered for its name (and, optionally, for its exact
JSON schema), or the stub. The stub accepts exactly the calls that satisfy the tool's schema and returns a
deterministic result (:func:`tool_result_for`, a hash of the canonical call). Arguments are validated before
any implementation runs; an implementation runs on the model's arguments in fcray's sandbox
(:mod:`fcray.sandbox`: a confined process of its own, which imports it by name) under the registry's time
limit. It raises :class:`ToolError` for arguments that fit the schema but make no sense (reason
``rejected``); any other exception (``raised``), a result that is not JSON (``bad_result``), a run past the
limit (``timeout``) or a sandbox process that died (``crashed``) is caught and reported too — never raised
into the caller. ``ToolRegistry(sandbox=False)`` runs implementations in a thread of the caller instead: for
trusted in-process code only (test doubles). :attr:`Execution.simulated` says whether a real implementation
ran. Nothing here evaluates argument text as code.

Implementations come in through the entry-point group ``fcray.tools`` (:data:`ENTRY_POINT_GROUP`): each entry
point names a function ``register(registry)``, and :data:`DEFAULT_REGISTRY` calls every one once, on first use.
fcray's own catalog simulators (``fcray.synth.tools``) are plugged in that way, so this bottom layer never
imports the layers above it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from importlib.metadata import entry_points
from queue import SimpleQueue
from typing import Any

from fcray.sandbox import (
    NOT_JSON,
    RemoteError,
    SandboxCrashed,
    SandboxTimeout,
    SandboxWorker,
    importable_name,
    qualified_name,
)
from fcray.toolcall.parse import Call
from fcray.toolcall.schema import SchemaIssue, tool_index

ENTRY_POINT_GROUP = "fcray.tools"


def tool_result_for(call: dict[str, Any]) -> dict[str, Any]:
    """A deterministic stand-in result for ``call``: what the stub executor returns for a tool without an
    implementation (the same call gives the same result, a different call a different one)."""
    canonical = json.dumps({"name": call["name"], "arguments": call["arguments"]}, sort_keys=True)
    return {"status": "ok", "function": call["name"], "result_id": hashlib.sha256(canonical.encode()).hexdigest()[:8]}


class ToolError(ValueError):
    """Raised by an implementation for arguments that pass the tool's JSON schema but make no sense (an
    unknown city, a flight to the airport it leaves from). The message names the argument and the problem."""


@dataclass(slots=True)
class Execution:
    ok: bool
    result: Any = None
    reason: str = ""
    detail: str = ""
    simulated: bool = False  # a registered implementation ran (False: the stub answered, or nothing ran)


class _Workers:
    """Daemon threads that run implementations, so that a caller can stop waiting after the time limit.

    Python cannot stop a thread: a call past its limit is abandoned and finishes (or not) in the background,
    while later calls go to other workers (a new one starts whenever none is idle). Daemon threads never hold
    up the interpreter's exit. A forked child (threads do not survive a fork) starts a pool of its own."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._jobs: SimpleQueue = SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def submit(self, fn: Callable[..., Any], arguments: dict[str, Any]) -> Future:
        if self._pid != os.getpid():  # forked: the parent's workers are not here
            self._start()
        future: Future = Future()
        with self._lock:
            if self._idle:
                self._idle -= 1  # an idle worker is about to take a job from the queue
            else:
                threading.Thread(target=self._serve, name="fcray-tool", daemon=True).start()
        self._jobs.put((future, fn, arguments))
        return future

    def _serve(self) -> None:
        while True:
            future, fn, arguments = self._jobs.get()
            try:
                future.set_result(fn(**arguments))
            except BaseException as exc:  # handed to the caller, which decides what to catch
                future.set_exception(exc)
            with self._lock:
                self._idle += 1


class ToolRegistry:
    """Tool name (and optionally its parameters' schema) -> Python implementation. Other tools use the stub.

    ``timeout_s`` limits each implementation call (``None``: no limit; without the sandbox, in the calling
    thread). ``entry_points``: an entry-point group whose ``register(registry)`` functions are called once, on
    first use. ``sandbox``: implementations run in fcray's sandbox process (so they must be module-level
    functions of an importable module); False: in a thread of the caller, for trusted code only.
    Implementations must be deterministic: the reward compares their results (fcray.toolcall.reward).
    """

    def __init__(self, timeout_s: float | None = 1.0, entry_points: str | None = None, sandbox: bool = True) -> None:
        self.timeout_s = timeout_s
        self.sandbox = sandbox
        self._sandbox_worker = SandboxWorker() if sandbox else None  # its process starts on the first call
        # name -> [(parameters or None, fn)], those for an exact schema first
        self._impls: dict[str, list[tuple[dict[str, Any] | None, Callable[..., Any]]]] = {}
        self._pending_group = entry_points
        self._loading = False
        self._plugin_lock = threading.RLock()
        self._workers = _Workers()

    def register(self, name: str, fn: Callable[..., Any] | None = None, parameters: dict[str, Any] | None = None):
        """``registry.register("get_weather", fn)`` or as a decorator ``@registry.register("get_weather")``.

        With ``parameters`` (a tool's JSON schema), ``fn`` runs only for an offered tool whose ``parameters``
        equal it: another dataset's tool that shares the name but not the schema keeps the stub. Registering
        the same name and schema again replaces the implementation."""
        if fn is None:
            return lambda f: self.register(name, f, parameters)
        if self.sandbox:
            importable_name(fn)  # fails now, naming the function, rather than at its first call
        entries = [e for e in self._impls.get(name, []) if e[0] != parameters] + [(parameters, fn)]
        self._impls[name] = sorted(entries, key=lambda e: e[0] is None)  # stable: exact schemas first
        return fn

    def implementation(self, name: str, parameters: dict[str, Any] | None = None) -> Callable[..., Any] | None:
        """What runs for a tool ``name`` offered with ``parameters`` (``None``: the tool's schema is not
        known, so only an implementation registered without one)."""
        self._load_plugins()
        for schema, fn in self._impls.get(name, ()):
            if schema is None or schema == parameters:
                return fn
        return None

    def names(self) -> list[str]:
        """The tool names that have at least one implementation."""
        self._load_plugins()
        return sorted(self._impls)

    def _load_plugins(self) -> None:
        if self._pending_group is None:
            return
        with self._plugin_lock:  # other threads wait until every plugin has registered
            if self._pending_group is None or self._loading:  # _loading: a plugin asking the registry back
                return
            self._loading = True
            try:
                for point in entry_points(group=self._pending_group):
                    try:
                        point.load()(self)
                    except Exception as exc:  # a broken plugin must not break scoring: its tools keep the stub
                        warnings.warn(f"{self._pending_group} entry point '{point.name}' ({point.value}) failed: "
                                      f"{type(exc).__name__}: {exc}; its tools use the stub", RuntimeWarning,
                                      stacklevel=3)
            finally:
                self._pending_group, self._loading = None, False

    def execute(self, call: Call, tools: list[dict[str, Any]],
                issues: list[SchemaIssue] | None = None) -> Execution:
        """Run ``call``. ``issues`` (from the schema check) avoids validating twice."""
        index = tool_index(tools)
        if issues is None:
            issues = index.check(call)
        if issues:
            reason = "unknown_function" if issues[0].reason == "unknown_function" else "invalid_arguments"
            detail = "; ".join(f"{i.path or 'arguments'}: {i.detail}" for i in issues)
            return Execution(False, reason=reason, detail=detail)
        impl = self.implementation(call.name, index.parameters.get(call.name))
        if impl is None:
            return Execution(True, tool_result_for(call.to_dict()))
        if self.sandbox:
            return self._execute_sandboxed(impl, call)
        try:
            if self.timeout_s is None:
                result = impl(**call.arguments)
            else:
                future = self._workers.submit(impl, call.arguments)
                try:
                    error = future.exception(timeout=self.timeout_s)
                except TimeoutError:
                    return Execution(False, reason="timeout", detail=f"'{call.name}' ran past {self.timeout_s:g} s",
                                     simulated=True)
                if error is not None:
                    raise error
                result = future.result()
        except ToolError as exc:  # the call's fault, not the tool's
            return Execution(False, reason="rejected", detail=str(exc), simulated=True)
        except Exception as exc:  # a tool's bug, or arguments it rejects, must not crash scoring
            return Execution(False, reason="raised", detail=f"{type(exc).__name__}: {exc}", simulated=True)
        try:
            text = json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as exc:
            return Execution(False, reason="bad_result", detail=f"result is not JSON-serialisable: {exc}",
                             simulated=True)
        return Execution(True, json.loads(text), simulated=True)  # a copy, as JSON decodes it: nothing shared


    def _execute_sandboxed(self, impl: Callable[..., Any], call: Call) -> Execution:
        assert self._sandbox_worker is not None  # made with a sandboxed registry
        try:  # register() checked that the name imports: no lookup on this hot path
            result = self._sandbox_worker.call(qualified_name(impl), call.arguments, self.timeout_s)
        except SandboxTimeout:
            return Execution(False, reason="timeout", detail=f"'{call.name}' ran past {self.timeout_s:g} s",
                             simulated=True)
        except SandboxCrashed as exc:
            return Execution(False, reason="crashed", detail=str(exc), simulated=True)
        except RemoteError as exc:
            reason = {"ToolError": "rejected", NOT_JSON: "bad_result"}.get(exc.type, "raised")
            detail = exc.message if reason != "raised" else str(exc)
            return Execution(False, reason=reason, detail=detail, simulated=True)
        return Execution(True, result, simulated=True)  # JSON decoded from the sandbox: nothing shared


DEFAULT_REGISTRY = ToolRegistry(entry_points=ENTRY_POINT_GROUP)
