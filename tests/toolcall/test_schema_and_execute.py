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
    registry = ToolRegistry()
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
