"""Hand-made examples whose verdicts are known, shared by the eval tests."""

from __future__ import annotations

import json

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city"]}}},
         {"type": "function", "function": {"name": "get_time", "description": "", "parameters": {
             "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}]


def make_example(id_, truth, category="single", query="Weather in Oslo, in c?"):
    return {"id": id_, "source": "test", "category": category, "tools": TOOLS, "ground_truth": truth,
            "messages": [{"role": "user", "content": query}, {"role": "assistant", "content": ""}]}


def tc(name, args):
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': args})}\n</tool_call>"


OSLO = {"kind": "call", "calls": [{"name": "get_weather", "arguments": {"city": ["Oslo"], "unit": ["c", ""]}}]}
EXAMPLES = [
    make_example("right", OSLO),
    make_example("wrong-value", OSLO),
    make_example("wrong-name", OSLO, "multiple"),
    make_example("unparsed", OSLO, "multiple"),
    make_example("irrelevant-ok", {"kind": "no_call"}, "irrelevance", "Tell me a joke"),
    make_example("irrelevant-called", {"kind": "no_call"}, "irrelevance", "Tell me a joke"),
    make_example("ask-ok", {"kind": "ask", "missing": ["city"]}, "slot_filling", "What's the weather?"),
]
COMPLETIONS = {
    "right": tc("get_weather", {"city": "Oslo", "unit": "c"}),
    "wrong-value": tc("get_weather", {"city": "Bergen", "unit": "c"}),
    "wrong-name": tc("get_time", {"zone": "CET"}),
    "unparsed": "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \n</tool_call>",
    "irrelevant-ok": "Why did the chicken cross the road?",
    "irrelevant-called": tc("get_weather", {"city": "Oslo"}),
    "ask-ok": "Which city do you want the weather for?",
}
