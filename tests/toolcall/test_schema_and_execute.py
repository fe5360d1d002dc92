from __future__ import annotations

import pytest

from fcray.toolcall.execute import ToolRegistry
from fcray.toolcall.parse import Call
from fcray.toolcall.schema import check_calls, to_json_schema, tool_index

TOOLS = [{"type": "function", "function": {"name": "book", "description": "", "parameters": {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "nights": {"type": "integer"},
        "price": {"type": "number"},
        "breakfast": {"type": "boolean"},
        "cabin": {"type": "string", "enum": ["economy", "business"]},
        "guests": {"type": "array", "items": {"type": "string"}},
        "address": {"type": "object", "properties": {"street": {"type": "string"}, "zip": {"type": "string"}},
                    "required": ["street"]},
    },
    "required": ["city", "nights"],
}}}]
BFCL_TOOLS = [{"name": "calc", "description": "", "parameters": {
    "type": "dict", "properties": {"x": {"type": "float"}, "pair": {"type": "tuple", "items": {"type": "integer"}},
                                   "opts": {"type": "dict"}, "anything": {"type": "any"}},
    "required": ["x"]}}]


@pytest.mark.parametrize(
    ("arguments", "reasons"),
    [
        ({"city": "Oslo", "nights": 2}, []),
        ({"city": "Oslo", "nights": 2, "price": 10, "breakfast": False, "cabin": "economy", "guests": ["a"],
          "address": {"street": "Main", "zip": "1"}}, []),
        ({"city": "Oslo"}, ["missing_required"]),
        ({"city": "Oslo", "nights": "2"}, ["wrong_type"]),
        ({"city": "Oslo", "nights": 2.5}, ["wrong_type"]),
        ({"city": "Oslo", "nights": True}, ["wrong_type"]),
        ({"city": "Oslo", "nights": 2, "cabin": "first"}, ["enum_violation"]),
        ({"city": "Oslo", "nights": 2, "pets": True}, ["unexpected_argument"]),
        ({"city": "Oslo", "nights": 2, "guests": ["a", 3]}, ["wrong_type"]),
        ({"city": "Oslo", "nights": 2, "address": {"zip": "1"}}, ["missing_required"]),
        ({"city": "Oslo", "nights": 2, "address": {"street": "Main", "floor": 2}}, ["unexpected_argument"]),
        ({"nights": "x"}, ["missing_required", "wrong_type"]),
    ],
)
def test_schema_reasons(arguments, reasons):
    (issues,) = check_calls([Call("book", arguments)], TOOLS)
    assert sorted(i.reason for i in issues) == sorted(reasons)
    for issue in issues:
        assert issue.detail


def test_issue_paths_name_the_argument():
    (issues,) = check_calls([Call("book", {"city": "Oslo", "nights": 2, "address": {"street": 1}, "x": 1})], TOOLS)
    assert {(i.reason, i.path) for i in issues} == {("wrong_type", "address/street"), ("unexpected_argument", "x")}


def test_unknown_function():
    (issues,) = check_calls([Call("fly", {})], TOOLS)
    assert [i.reason for i in issues] == ["unknown_function"] and "book" in issues[0].detail


def test_bfcl_dialect_is_accepted():
    schema = to_json_schema(BFCL_TOOLS[0]["parameters"])
    assert schema["type"] == "object" and schema["properties"]["x"]["type"] == "number"
    assert schema["properties"]["pair"]["type"] == "array" and "type" not in schema["properties"]["anything"]
    assert schema["properties"]["opts"]["type"] == "object"
    tools = [{"type": "function", "function": BFCL_TOOLS[0]}]
    assert check_calls([Call("calc", {"x": 1, "pair": [1, 2], "opts": {"a": 1}, "anything": [1]})], tools) == [[]]
    assert [i.reason for i in check_calls([Call("calc", {"x": "1"})], tools)[0]] == ["wrong_type"]
    assert check_calls([Call("calc", {"x": 1.5})], BFCL_TOOLS) == [[]]  # bare function docs work too


def test_validators_and_indexes_are_cached():
    assert tool_index(TOOLS) is tool_index(TOOLS)
    index = tool_index(TOOLS)
    assert index.validator("book") is index.validator("book")


def test_stub_executor_is_deterministic_and_checks_arguments():
    registry = ToolRegistry()
    ok = registry.execute(Call("book", {"city": "Oslo", "nights": 2}), TOOLS)
    again = registry.execute(Call("book", {"nights": 2, "city": "Oslo"}), TOOLS)
    assert ok.ok and ok.result == again.result and ok.result["function"] == "book"
    other = registry.execute(Call("book", {"city": "Rome", "nights": 2}), TOOLS)
    assert other.result != ok.result
    bad = registry.execute(Call("book", {"city": "Oslo"}), TOOLS)
    assert not bad.ok and bad.reason == "invalid_arguments" and "nights" in bad.detail
    assert registry.execute(Call("fly", {}), TOOLS).reason == "unknown_function"


def test_registered_implementations_run_and_their_failures_are_caught():
    registry = ToolRegistry(sandbox=False)  # closures: in-process (the sandbox imports by name)
    seen = []

    @registry.register("book")
    def book(city, nights, **rest):
        seen.append((city, nights))
        if city == "Nowhere":
            raise LookupError("no such city")
        if city == "Weird":
            return object()
        return {"booked": city, "nights": nights}

    assert registry.execute(Call("book", {"city": "Oslo", "nights": 2}), TOOLS).result == {"booked": "Oslo", "nights": 2}
    raised = registry.execute(Call("book", {"city": "Nowhere", "nights": 1}), TOOLS)
    assert not raised.ok and raised.reason == "raised" and "LookupError: no such city" in raised.detail
    assert registry.execute(Call("book", {"city": "Weird", "nights": 1}), TOOLS).reason == "bad_result"
    # Invalid arguments never reach the implementation; argument text is never evaluated.
    registry.execute(Call("book", {"city": "__import__('os').system('true')"}), TOOLS)
    assert seen == [("Oslo", 2), ("Nowhere", 1), ("Weird", 1)]


def test_stub_results_say_nothing_was_simulated_and_implementations_say_so():
    registry = ToolRegistry(sandbox=False)  # closures: in-process (the sandbox imports by name)
    assert registry.execute(Call("book", {"city": "Oslo", "nights": 2}), TOOLS).simulated is False
    registry.register("book", lambda **arguments: {"ok": True})
    assert registry.execute(Call("book", {"city": "Oslo", "nights": 2}), TOOLS).simulated is True
    assert registry.execute(Call("book", {"city": "Oslo"}), TOOLS).simulated is False  # invalid: nothing ran


def test_an_implementation_registered_for_a_schema_runs_only_for_that_schema():
    registry = ToolRegistry(sandbox=False)  # closures: in-process (the sandbox imports by name)
    schema = TOOLS[0]["function"]["parameters"]
    registry.register("book", lambda **a: {"exact": True}, parameters=schema)
    other = [{"type": "function", "function": {"name": "book", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    assert registry.execute(Call("book", {"city": "Oslo", "nights": 2}), TOOLS).result == {"exact": True}
    fallback = registry.execute(Call("book", {"city": "Oslo"}), other)
    assert fallback.ok and not fallback.simulated and fallback.result["function"] == "book"
    # one registered without a schema serves every other schema; the exact one still wins for its own
    registry.register("book", lambda **a: {"any": True})
    assert registry.execute(Call("book", {"city": "Oslo"}), other).result == {"any": True}
    assert registry.execute(Call("book", {"city": "Oslo", "nights": 2}), TOOLS).result == {"exact": True}
    assert registry.implementation("book") is not registry.implementation("book", schema)


def test_tool_errors_and_bad_results_are_reported_with_a_reason():
    from fcray.toolcall import ToolError

    registry = ToolRegistry(sandbox=False)  # closures: in-process (the sandbox imports by name)

    @registry.register("book")
    def book(city, nights, **rest):
        if city == "Atlantis":
            raise ToolError("city: unknown city 'Atlantis'")
        return {"nights": float("nan")}

    rejected = registry.execute(Call("book", {"city": "Atlantis", "nights": 1}), TOOLS)
    assert (rejected.ok, rejected.reason, rejected.detail) == (False, "rejected", "city: unknown city 'Atlantis'")
    assert registry.execute(Call("book", {"city": "Oslo", "nights": 1}), TOOLS).reason == "bad_result"  # NaN is no JSON


def test_a_call_past_the_time_limit_is_reported_and_later_calls_still_run():
    import threading
    import time

    release = threading.Event()
    registry = ToolRegistry(timeout_s=0.05, sandbox=False)

    @registry.register("book")
    def book(city, nights, **rest):
        if city == "Slow":
            release.wait(5)
        return {"city": city}

    start = time.perf_counter()
    slow = registry.execute(Call("book", {"city": "Slow", "nights": 1}), TOOLS)
    assert (slow.ok, slow.reason, slow.simulated) == (False, "timeout", True) and "0.05 s" in slow.detail
    assert time.perf_counter() - start < 2
    # the stuck worker is abandoned; the next call gets another one
    assert registry.execute(Call("book", {"city": "Oslo", "nights": 1}), TOOLS).result == {"city": "Oslo"}
    release.set()
    # an implementation's own TimeoutError is an exception it raised, not the registry's limit
    registry.register("book", lambda **a: (_ for _ in ()).throw(TimeoutError("upstream")))
    own = registry.execute(Call("book", {"city": "Oslo", "nights": 1}), TOOLS)
    assert own.reason == "raised" and "upstream" in own.detail
    # without a limit, the implementation runs in the calling thread
    inline = ToolRegistry(timeout_s=None, sandbox=False)
    inline.register("book", lambda **a: {"thread": threading.current_thread().name})
    assert inline.execute(Call("book", {"city": "Oslo", "nights": 1}), TOOLS).result == {
        "thread": threading.current_thread().name}


def test_entry_point_plugins_are_loaded_once_on_first_use(monkeypatch):
    from importlib.metadata import EntryPoint

    from fcray.toolcall import execute

    loads = []
    points = [EntryPoint("good", f"{__name__}:_plugin", "fcray.test"),
              EntryPoint("broken", f"{__name__}:_missing", "fcray.test")]

    def fake_entry_points(group):
        loads.append(group)
        return points if group == "fcray.test" else []

    monkeypatch.setattr(execute, "entry_points", fake_entry_points)
    registry = ToolRegistry(entry_points="fcray.test", sandbox=False)
    assert loads == []  # nothing happens until the registry is used
    with pytest.warns(RuntimeWarning, match="'broken'.*its tools use the stub"):
        run = registry.execute(Call("book", {"city": "Oslo", "nights": 2}), TOOLS)
    assert run.simulated and run.result == {"plugin": "Oslo"}
    registry.execute(Call("book", {"city": "Oslo", "nights": 2}), TOOLS)
    assert registry.names() == ["book"] and loads == ["fcray.test"]  # loaded once


def _plugin(registry):
    registry.register("book", lambda city, **rest: {"plugin": city})


def test_the_default_registry_loads_the_installed_entry_points():
    from importlib.metadata import entry_points

    from fcray.toolcall import DEFAULT_REGISTRY
    from fcray.toolcall.execute import ENTRY_POINT_GROUP

    assert "catalog" in {p.name for p in entry_points(group=ENTRY_POINT_GROUP)}, \
        "fcray is not installed (pip install -e .): the catalog's simulators are missing"
    assert "get_weather" in DEFAULT_REGISTRY.names()


def test_a_forked_child_runs_implementations_with_workers_of_its_own():
    import os

    registry = ToolRegistry(timeout_s=2, sandbox=False)
    registry.register("book", lambda city, **rest: {"pid": os.getpid()})
    assert registry.execute(Call("book", {"city": "Oslo", "nights": 1}), TOOLS).ok  # the parent's worker is idle now
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        run = registry.execute(Call("book", {"city": "Oslo", "nights": 1}), TOOLS)
        os.write(write, b"ok" if run.ok and run.result == {"pid": os.getpid()} else run.reason.encode())
        os._exit(0)
    os.close(write)
    assert os.read(read, 64) == b"ok"
    os.waitpid(child, 0)


# Implementations the sandbox imports by name (module-level): what each outcome looks like from a sandboxed
# registry, the default one's mode.
def _sandboxed_book(city, nights, **rest):
    import os
    import time

    from fcray.toolcall import ToolError

    if city == "Atlantis":
        raise ToolError("city: unknown city 'Atlantis'")
    if city == "Nowhere":
        raise LookupError("no such city")
    if city == "Weird":
        return {"nights": float("nan")}
    if city == "Slow":
        time.sleep(30)
    if city == "Crash":
        os._exit(9)
    if city == "Home":
        return {"home": os.environ.get("HOME"), "secret": os.environ.get("FCRAY_TEST_SECRET")}
    return {"booked": city, "nights": nights}


@pytest.mark.parametrize("city, outcome", [
    ("Oslo", (True, "", {"booked": "Oslo", "nights": 1})),
    ("Atlantis", (False, "rejected", "city: unknown city 'Atlantis'")),
    ("Nowhere", (False, "raised", "LookupError: no such city")),
    ("Weird", (False, "bad_result", None)),
    ("Slow", (False, "timeout", "'book' ran past 1 s")),
    ("Crash", (False, "crashed", None)),
])
def test_a_sandboxed_registry_reports_every_outcome_and_keeps_working(city, outcome):
    registry = ToolRegistry(timeout_s=1)
    registry.register("book", _sandboxed_book)
    run = registry.execute(Call("book", {"city": city, "nights": 1}), TOOLS)
    ok, reason, detail = outcome
    assert (run.ok, run.reason, run.simulated) == (ok, reason, True), run
    if detail is not None:
        assert (run.result if ok else run.detail) == detail
    assert registry.execute(Call("book", {"city": "Oslo", "nights": 1}), TOOLS).result == {"booked": "Oslo", "nights": 1}


def test_a_sandboxed_implementation_sees_none_of_the_callers_secrets(monkeypatch):
    monkeypatch.setenv("FCRAY_TEST_SECRET", "s3cr3t")
    registry = ToolRegistry()
    registry.register("book", _sandboxed_book)
    run = registry.execute(Call("book", {"city": "Home", "nights": 1}), TOOLS)
    assert run.result["secret"] is None and "fcray-sandbox-" in run.result["home"]


def test_a_sandboxed_registry_refuses_what_it_cannot_import():
    with pytest.raises(ValueError, match="module-level function"):
        ToolRegistry().register("book", lambda **a: {})
