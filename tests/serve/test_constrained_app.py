"""The served tiny model with ``decoding.constrained``: fcray's ingress decodes tool calls with its grammar
for every tool choice, on an engine bound to LLGuidance; through the official openai SDK.

The module redeploys the shared test head (the ``served`` fixture) with the constrained config and puts the
shared config back afterwards (``redeployed``), so the tests before and after it see the unconstrained server.

Random tiny weights never open a call by themselves: ``auto`` tests push ``<tool_call>`` with logit_bias.
What follows the tag is the model's own choice, which only the grammar turns into a call of an offered tool
with schema-valid arguments (without it, random JSON follows and vLLM's parser returns no call).
``required`` and named choices need no push: the grammar admits nothing but calls."""

from __future__ import annotations

import json
import re

import pytest

from tests.serve.conftest import redeployed
from tests.serve.test_app import QUESTION, TIME, WEATHER

pytestmark = pytest.mark.slow

TOOLS = [WEATHER, TIME]
NO_THINKING = {"chat_template_kwargs": {"enable_thinking": False}}


@pytest.fixture(scope="module")
def constrained(served, tiny_model_dir):
    from fcray.config import DecodingConfig

    with redeployed(served, str(tiny_model_dir),
                    decoding=DecodingConfig(constrained=True, max_calls=2, max_string_length=12)) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def client(constrained):
    import openai

    return openai.OpenAI(base_url=constrained.url, api_key="EMPTY", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def model(constrained):
    return constrained.model_id


@pytest.fixture(scope="module")
def bias(tiny_model_dir):
    """logit_bias pushing one special token: bias("<tool_call>")."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return lambda token: {str(tokenizer.convert_tokens_to_ids(token)): 100}


def _valid(call, tools, max_string_length=12):
    import jsonschema

    (tool,) = [t for t in tools if t["function"]["name"] == call.function.name]
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, tool["function"]["parameters"])
    assert all(len(v) <= max_string_length for v in arguments.values() if isinstance(v, str))
    return True


def test_auto_replies_are_calls_of_offered_tools(client, model, bias):
    response = client.chat.completions.create(model=model, messages=QUESTION, tools=TOOLS, max_tokens=128,
                                              temperature=0, logit_bias=bias("<tool_call>"), extra_body=NO_THINKING)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls, choice
    assert 1 <= len(choice.message.tool_calls) <= 2  # decoding.max_calls
    assert all(_valid(call, TOOLS) for call in choice.message.tool_calls)


def test_streaming_gives_the_same_call(client, model, bias):
    kwargs = dict(model=model, messages=QUESTION, tools=TOOLS, max_tokens=128, temperature=0,
                  logit_bias=bias("<tool_call>"), extra_body=NO_THINKING, parallel_tool_calls=False)
    whole = client.chat.completions.create(**kwargs).choices[0].message.tool_calls
    assert len(whole) == 1  # parallel_tool_calls=False: at most one call
    name, arguments = "", ""
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name += call.function.name or "" if call.function else ""
            arguments += call.function.arguments or "" if call.function else ""
    assert (name, json.loads(arguments)) == (whole[0].function.name, json.loads(whole[0].function.arguments))


def test_required_needs_no_push(client, model):
    response = client.chat.completions.create(model=model, messages=QUESTION, tools=TOOLS, tool_choice="required",
                                              max_tokens=128, temperature=0, extra_body=NO_THINKING)
    calls = response.choices[0].message.tool_calls
    assert calls and all(_valid(call, TOOLS) for call in calls), response.choices[0]


def test_a_named_tool_is_the_one_call(client, model):
    response = client.chat.completions.create(model=model, messages=QUESTION, tools=TOOLS, max_tokens=128,
                                              tool_choice={"type": "function", "function": {"name": "get_time"}},
                                              temperature=0, extra_body=NO_THINKING)
    (call,) = response.choices[0].message.tool_calls
    assert call.function.name == "get_time" and _valid(call, TOOLS)


def test_with_thinking_on_the_call_follows_the_reasoning(client, model, bias):
    """A client that asks for thinking: vLLM's reasoning parser applies the grammar after </think> (the push
    ends the reasoning at once), and then the grammar admits only a call; no reasoning in content."""
    response = client.chat.completions.create(model=model, messages=QUESTION, tools=TOOLS, tool_choice="required",
                                              max_tokens=128, temperature=0, logit_bias=bias("</think>"),
                                              extra_body={"chat_template_kwargs": {"enable_thinking": True}})
    message = response.choices[0].message
    assert message.tool_calls and all(_valid(call, TOOLS) for call in message.tool_calls), response.choices[0]
    assert "think>" not in (message.content or "")


def test_client_constraints_still_apply_on_the_llguidance_engine(client, model, no_whitespace):
    text = client.chat.completions.create(model=model, messages=QUESTION, tools=TOOLS, max_tokens=32, temperature=0,
                                          extra_body={"structured_outputs": {"regex": re.escape("It is 3 in Oslo.")}})
    assert text.choices[0].message.content == "It is 3 in Oslo." and not text.choices[0].message.tool_calls
    schema = {"type": "object", "properties": {"unit": {"enum": ["c", "f"]}}, "required": ["unit"],
              "additionalProperties": False}
    typed = client.chat.completions.create(model=model, messages=QUESTION, max_tokens=64, temperature=0,
                                           logit_bias=no_whitespace, extra_body=NO_THINKING,
                                           response_format={"type": "json_schema", "json_schema": {
                                               "name": "unit", "schema": schema}})
    assert json.loads(typed.choices[0].message.content)["unit"] in ("c", "f")


def test_a_tool_list_no_grammar_can_be_built_from_is_a_400(client, model):
    import openai

    nameless = {"type": "function", "function": {"name": "", "parameters": {"type": "object", "properties": {}}}}
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=model, messages=QUESTION, tools=[nameless], max_tokens=8)
