"""The tool-call grammar accepts exactly the answers fcray's strict parser and schema check accept, token by
token through LLGuidance with the tiny model's tokenizer (the matcher vLLM and llama.cpp run)."""

from __future__ import annotations

import pytest

from fcray.toolcall.grammar import GrammarError, call_schema, check_grammar, grammar_for, tool_call_grammar

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "lat": {"type": "number"}},
    "required": ["city"]}}}
BOOK = {"type": "function", "function": {"name": "book_table", "parameters": {
    "type": "object", "properties": {"size": {"type": "integer"}, "mode": {"type": "string", "enum": ["in", "out"]}}}}}
TOOLS = [WEATHER, BOOK]


def call(body: str) -> str:
    return f"<tool_call>\n{body}\n</tool_call>"


OSLO = call('{"name": "get_weather", "arguments": {"city": "Oslo"}}')
TWO = OSLO + "\n" + call('{"name": "book_table", "arguments": {"size": 2, "mode": "in"}}')

CASES = [
    # (text, accepted with text answers allowed, accepted when a call is required)
    (OSLO, True, True),
    (TWO, True, True),
    (call('{"name": "get_weather", "arguments": {"city": "Oslo", "days": 3}}'), True, True),
    ("There is no tool for that.", True, False),
    (call('{"name": "get_directions", "arguments": {}}'), False, False),           # not an offered tool
    (call('{"name": "get_weather", "arguments": {}}'), False, False),              # required argument missing
    (call('{"name": "get_weather", "arguments": {"city": 4}}'), False, False),     # wrong type
    (call('{"name": "get_weather", "arguments": {"town": "Oslo"}}'), False, False),  # undeclared argument
    (call('{"name": "book_table", "arguments": {"mode": "maybe"}}'), False, False),  # outside the enum
    (call('{"name":"get_weather","arguments":{"city":"Oslo"}}'), False, False),    # not the template's spacing
    (call('{"arguments": {"city": "Oslo"}, "name": "get_weather"}'), False, False),  # name comes first
    ("Sure. " + OSLO, False, False),                                                # a call inside a text answer
    (call('{"name": "get_weather", "arguments": {"city": "' + "x" * 100 + '"}}'), False, False),  # maxLength
    ("\n".join([OSLO] * 5), False, False),                                          # more than max_calls
    (call('{"name": "book_table", "arguments": {"size": 12345678901234567}}'), False, False),  # number bound
    (call('{"name": "get_weather", "arguments": {"city": "Oslo", "lat": -59.9139}}'), True, True),
    (call('{"name": "get_weather", "arguments": {"city": "Oslo", "lat": 59.913868}}'), True, True),
    (call('{"name": "get_weather", "arguments": {"city": "Oslo", "lat": 59.9138681}}'), False, False),  # decimals
]


def accepts(grammar: str, text: str, tokenizer) -> bool:
    import llguidance
    import llguidance.hf

    matcher = llguidance.LLMatcher(llguidance.hf.from_tokenizer(tokenizer), llguidance.grammar_from("lark", grammar))
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return matcher.consume_tokens(ids) and matcher.is_accepting()


@pytest.mark.parametrize("text, with_text, required", CASES, ids=range(len(CASES)))
def test_grammar_accepts_what_the_checker_accepts(tiny_tokenizer, text, with_text, required):
    from fcray.toolcall.parse import parse_completion
    from fcray.toolcall.schema import check_calls

    assert accepts(tool_call_grammar(TOOLS), text, tiny_tokenizer) is with_text
    assert accepts(tool_call_grammar(TOOLS, require_call=True), text, tiny_tokenizer) is required
    if required:  # what the grammar lets through, the strict parser and the schema check accept
        parsed = parse_completion(text)
        assert parsed.ok and check_calls(parsed.calls, TOOLS) == [[]] * len(parsed.calls)


def test_thinking_block_comes_first_when_thinking_is_on(tiny_tokenizer):
    grammar = tool_call_grammar(TOOLS, enable_thinking=True)
    assert accepts(grammar, "<think>\nOslo, so the weather tool.\n</think>\n\n" + OSLO, tiny_tokenizer)
    assert not accepts(grammar, OSLO, tiny_tokenizer)


@pytest.mark.parametrize("max_calls", [1, 2, 4])
def test_at_most_max_calls(tiny_tokenizer, max_calls):
    grammar = tool_call_grammar(TOOLS, max_calls=max_calls)
    check_grammar(grammar, tiny_tokenizer)
    assert accepts(grammar, "\n".join([OSLO] * max_calls), tiny_tokenizer)
    assert not accepts(grammar, "\n".join([OSLO] * (max_calls + 1)), tiny_tokenizer)


def test_grammar_compiles_against_the_vocabulary(tiny_tokenizer):
    check_grammar(tool_call_grammar(TOOLS), tiny_tokenizer)  # <tool_call> is one of its tokens
    with pytest.raises(GrammarError, match="does not compile"):
        check_grammar("%llguidance {}\nstart: <no_such_token>\n", tiny_tokenizer)


@pytest.mark.parametrize("tools, message", [
    ([], "at least one offered tool"),
    ([{"type": "function", "function": {"parameters": {}}}], "without a name"),
])
def test_tools_a_grammar_cannot_be_built_from(tools, message):
    with pytest.raises(GrammarError, match=message):
        tool_call_grammar(tools)


def test_string_bounds_respect_the_schema():
    schema = call_schema({"function": {"name": "f", "parameters": {"type": "object", "properties": {
        "free": {"type": "string"}, "short": {"type": "string", "maxLength": 5},
        "choice": {"type": "string", "enum": ["a"]}, "n": {"type": "number"},
        "positive": {"type": "integer", "minimum": 1}, "tags": {"type": "array", "items": {"type": "string"}}}}}},
        max_string_length=32)
    properties = schema["properties"]["arguments"]["properties"]
    assert properties["free"]["maxLength"] == 32 and properties["short"]["maxLength"] == 5
    positive, negative = properties["n"]["anyOf"]  # decimals bounded where LLGuidance can (>= 0)
    assert (positive["minimum"], positive["maximum"], positive["multipleOf"]) == (0, 10**15, 1e-6)
    assert (negative["minimum"], negative["exclusiveMaximum"]) == (-10**15, 0)
    assert properties["positive"]["minimum"] == 1 and properties["positive"]["maximum"] == 10**15
    assert "maxLength" not in properties["choice"] and properties["tags"]["items"]["maxLength"] == 32
    assert schema["properties"]["arguments"]["additionalProperties"] is False


def test_grammar_for_follows_the_decoding_settings():
    from fcray.config import DecodingConfig

    assert grammar_for(TOOLS, DecodingConfig()) is None                         # off by default
    assert grammar_for([], DecodingConfig(constrained=True)) is None            # no tools: a text answer
    required = grammar_for(TOOLS, DecodingConfig(constrained=True, require_call=True, max_calls=2))
    assert required.splitlines()[1] == "start: calls" and "{0,1}" in required
