from __future__ import annotations

import pytest

from fcray.toolcall.parse import as_parsed, parse_completion, parse_openai_tool_calls

CALL = '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>'
CALL2 = '<tool_call>\n{"name": "g", "arguments": {}}\n</tool_call>'

# (completion, mode, status, [(name, arguments)], content)
CASES = [
    (CALL, "strict", "ok", [("f", {"x": 1})], ""),
    (CALL + "\n" + CALL2, "strict", "ok", [("f", {"x": 1}), ("g", {})], ""),
    ("Let me check.\n" + CALL, "strict", "ok", [("f", {"x": 1})], "Let me check."),
    (CALL + "\nDone.", "strict", "ok", [("f", {"x": 1})], "Done."),
    ("<think>\nI should call f.\n</think>\n\n" + CALL, "strict", "ok", [("f", {"x": 1})], ""),
    ("<think>\n\n</think>\n\n" + CALL + "<|im_end|>", "strict", "ok", [("f", {"x": 1})], ""),
    ("<think>maybe " + CALL + "</think>\nNo call needed.", "strict", "no_call", [], "No call needed."),
    ("<think>still thinking " + CALL, "strict", "no_call", [], ""),
    ("The weather is sunny.", "strict", "no_call", [], "The weather is sunny."),
    ("", "strict", "no_call", [], ""),
    ('<tool_call>\n{"name": "f", "arguments": {"x": 1}}', "strict", "unterminated_tag", [], None),
    ('{"name": "f"}\n</tool_call>', "strict", "unterminated_tag", [], None),
    ('<tool_call>{"name": "f", "arguments": {}}</tool_call>', "strict", "bad_format", [], None),
    ('<tool_call>\n{"name": "f", "arguments": {"x": 1}\n</tool_call>', "strict", "invalid_json", [], None),
    ("<tool_call>\n{'name': 'f', 'arguments': {}}\n</tool_call>", "strict", "invalid_json", [], None),
    (CALL + "\n<tool_call>\n{bad}\n</tool_call>", "strict", "invalid_json", [], None),  # one bad block: none
    ('<tool_call>\n{"arguments": {}}\n</tool_call>', "strict", "missing_name", [], None),
    ('<tool_call>\n{"name": "", "arguments": {}}\n</tool_call>', "strict", "missing_name", [], None),
    ('<tool_call>\n["f", {}]\n</tool_call>', "strict", "missing_name", [], None),
    ('<tool_call>\n{"name": "f"}\n</tool_call>', "strict", "arguments_not_object", [], None),
    ('<tool_call>\n{"name": "f", "arguments": [1]}\n</tool_call>', "strict", "arguments_not_object", [], None),
    ('<tool_call>\n{"name": "f", "arguments": "{\\"x\\": 1}"}\n</tool_call>', "strict", "arguments_not_object", [], None),
    # lenient
    ('<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>', "lenient", "ok", [("f", {"x": 1})], ""),
    ('<tool_call>  \n {"name": "f", "arguments": {"x": 1}}  ', "lenient", "ok", [("f", {"x": 1})], ""),
    ('<tool_call>\n{"name": "f", "arguments": "{\\"x\\": 1}"}\n</tool_call>', "lenient", "ok", [("f", {"x": 1})], ""),
    ('<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>', "lenient", "ok", [("f", {"x": 1})], ""),
    ('<tool_call>\n{"type": "function", "function": {"name": "f", "arguments": {}}}\n</tool_call>', "lenient", "ok", [("f", {})], ""),
    ('{"name": "f", "arguments": {"x": 1}}', "lenient", "ok", [("f", {"x": 1})], ""),
    ('[{"name": "f", "arguments": {}}, {"name": "g", "arguments": {}}]', "lenient", "ok", [("f", {}), ("g", {})], ""),
    ('```json\n{"name": "f", "arguments": {}}\n```', "lenient", "ok", [("f", {})], ""),
    ('{"city": "Paris"}', "lenient", "no_call", [], '{"city": "Paris"}'),
    ("<tool_call>\n{'name': 'f', 'arguments': {}}\n</tool_call>", "lenient", "invalid_json", [], None),
    ('<tool_call>\n{"name": "f", "arguments": "not json"}\n</tool_call>', "lenient", "arguments_not_object", [], None),
]


@pytest.mark.parametrize(("completion", "mode", "status", "calls", "content"), CASES)
def test_parse_table(completion, mode, status, calls, content):
    parsed = parse_completion(completion, mode)
    assert parsed.status == status, parsed.detail
    assert [(c.name, c.arguments) for c in parsed.calls] == calls
    if content is not None:
        assert parsed.content == content
    if parsed.failed:
        assert parsed.detail  # every failure says why


def test_openai_tool_calls():
    parsed = parse_openai_tool_calls([
        {"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {"id": "2", "type": "function", "function": {"name": "g", "arguments": {"y": 2}}},
    ], "hi")
    assert parsed.ok and [(c.name, c.arguments) for c in parsed.calls] == [("f", {"x": 1}), ("g", {"y": 2})]
    assert parsed.content == "hi"
    assert parse_openai_tool_calls(None, "text").status == "no_call"
    bad = parse_openai_tool_calls([{"function": {"name": "f", "arguments": "{oops"}}])
    assert bad.status == "arguments_not_object" and "tool_calls[0]" in bad.detail
    assert parse_openai_tool_calls([{"type": "function"}]).status == "missing_name"


def test_sdk_objects_and_messages():
    class Fn:
        name, arguments = "f", '{"x": 1}'

    class ToolCall:
        function = Fn()

    assert parse_openai_tool_calls([ToolCall()]).calls[0].arguments == {"x": 1}
    assert as_parsed({"role": "assistant", "content": CALL}).calls[0].name == "f"
    assert as_parsed([{"role": "assistant", "content": CALL}]).ok  # TRL's conversational completions
    assert as_parsed({"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}).ok
    assert parse_completion(None).status == "invalid_json"  # never raises on model output
