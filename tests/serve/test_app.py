"""The served tiny model through the official openai SDK: tool calling (auto / none / required / named),
streaming and not, multi-turn with a tool result; bad requests; a crashed replica restarted by Serve.

Random tiny weights never call a tool by themselves, so the tests that need a call force the model's text
with vLLM's structured outputs (a regex): the server's real Hermes parser then turns it into tool_calls."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.slow

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                            "parameters": {"type": "object", "properties": {
                                                "city": {"type": "string"}}, "required": ["city"]}}}
TIME = {"type": "function", "function": {"name": "get_time", "description": "Time in a zone", "parameters": {
    "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}
QUESTION = [{"role": "user", "content": "What is the weather in Oslo?"}]
OSLO_CALL = r'<tool_call>\n\{"name": "get_weather", "arguments": \{"city": "Oslo"\}\}\n</tool_call>'


@pytest.fixture(scope="module")
def client(served):
    import openai

    deployment, _, _ = served
    return openai.OpenAI(base_url=deployment.url, api_key="EMPTY", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def model(served):
    return served[0].model_id


def _forced(regex):
    return {"structured_outputs": {"regex": regex}}


def test_auto_tool_choice_returns_parsed_tool_calls(client, model):
    response = client.chat.completions.create(model=model, messages=QUESTION, tools=[WEATHER, TIME],
                                              tool_choice="auto", max_tokens=64, temperature=0,
                                              extra_body=_forced(OSLO_CALL))
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Oslo"}
    assert call.id and not choice.message.content


def test_streaming_assembles_the_same_tool_call(client, model):
    stream = client.chat.completions.create(model=model, messages=QUESTION, tools=[WEATHER], max_tokens=64,
                                            temperature=0, stream=True, extra_body=_forced(OSLO_CALL))
    name, arguments, finish = "", "", None
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        for call in delta.tool_calls or []:
            name += call.function.name or "" if call.function else ""
            arguments += call.function.arguments or "" if call.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert name == "get_weather" and json.loads(arguments) == {"city": "Oslo"} and finish == "tool_calls"


def test_tool_choice_none_answers_without_calls(client, model):
    response = client.chat.completions.create(model=model, messages=QUESTION, tools=[WEATHER], tool_choice="none",
                                              max_tokens=8, temperature=0)
    assert not response.choices[0].message.tool_calls and response.choices[0].finish_reason in ("stop", "length")


# Tools whose arguments leave the random model little room (enums, no free text) and that say
# "strict": true, so vLLM pins the arguments to the schema (without it, its Hermes structural tag constrains
# only the <tool_call> envelope and a random model writes any JSON there). The grammar still allows any
# whitespace between JSON tokens, where random weights can stay until max_tokens: the test bans
# whitespace-only tokens (logit_bias -100 ranks them last but leaves them possible where the grammar
# forces one, as after <tool_call>). parallel_tool_calls=False stops it after one call.
UNIT = {"type": "function", "function": {"name": "set_unit", "description": "Temperature unit", "strict": True, "parameters": {
    "type": "object", "properties": {"unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["unit"],
    "additionalProperties": False}}}
MODE = {"type": "function", "function": {"name": "set_mode", "description": "Display mode", "strict": True, "parameters": {
    "type": "object", "properties": {"dark": {"type": "boolean"}}, "required": ["dark"], "additionalProperties": False}}}


def test_tool_choice_required_and_named_function_constrain_the_output(client, model, no_whitespace):
    required = client.chat.completions.create(model=model, messages=QUESTION, tools=[UNIT, MODE],
                                              tool_choice="required", parallel_tool_calls=False, max_tokens=256,
                                              temperature=0, logit_bias=no_whitespace)
    message = required.choices[0].message
    assert message.tool_calls and len(message.tool_calls) == 1, message
    assert message.tool_calls[0].function.name in ("set_unit", "set_mode")
    named = client.chat.completions.create(model=model, messages=QUESTION, tools=[UNIT, MODE], max_tokens=256,
                                           tool_choice={"type": "function", "function": {"name": "set_mode"}},
                                           temperature=0, logit_bias=no_whitespace)
    message = named.choices[0].message
    assert message.tool_calls, message
    (call,) = message.tool_calls
    assert call.function.name == "set_mode"
    assert set(json.loads(call.function.arguments)) == {"dark"}  # the schema's one property, filled in


def test_multi_turn_with_a_tool_result(client, model):
    messages = QUESTION + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": json.dumps({"city": "Oslo"})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps({"temperature_c": 3})},
    ]
    response = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER], max_tokens=48,
                                              temperature=0, extra_body=_forced(re.escape("It is 3 degrees in Oslo.")))
    assert response.choices[0].message.content == "It is 3 degrees in Oslo."
    assert response.choices[0].finish_reason == "stop" and response.usage.prompt_tokens > 0


def _post(url, body: bytes):
    request = urllib.request.Request(f"{url}/chat/completions", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _ok(served):
    deployment = served[0]
    body = json.dumps({"model": deployment.model_id, "messages": QUESTION, "max_tokens": 4}).encode()
    return _post(deployment.url, body)[0] == 200


@pytest.mark.parametrize("case,body,statuses", [
    ("malformed JSON", b'{"model": "fcray-tiny", "messages": [', (400, 422)),
    ("unknown model", {"model": "no-such-model", "messages": QUESTION}, (400, 404)),
    ("invalid tool schema", {"messages": QUESTION, "tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "no-such-type"}}}}}],
        "tool_choice": "required"}, (400,)),
    ("prompt longer than the context", {"messages": [{"role": "user", "content": "word " * 3000}]}, (400,)),
])
def test_bad_requests_get_an_openai_error_and_the_server_keeps_serving(served, case, body, statuses):
    deployment = served[0]
    if isinstance(body, dict):
        body = json.dumps({"model": deployment.model_id, "max_tokens": 4, **body}).encode()
    status, payload = _post(deployment.url, body)
    assert status in statuses, (case, status, payload)
    error = payload.get("error") or {}
    assert error.get("message"), (case, payload)  # OpenAI-style error body
    assert _ok(served), f"the server stopped serving after: {case}"


def test_a_crashed_replica_is_restarted_by_serve(served):
    from ray.util.state import list_actors

    _, head, _ = served
    replicas = [a for a in list_actors(address=head.address, filters=[("state", "=", "ALIVE")])
                if "LLMServer" in (a.get("class_name") or "") or "LLMServer" in (a.get("name") or "")]
    assert replicas, "no LLMServer replica found"
    os.kill(replicas[0]["pid"], signal.SIGKILL)
    deadline = time.time() + 600
    while time.time() < deadline:
        alive = [a for a in list_actors(address=head.address, filters=[("state", "=", "ALIVE")])
                 if "LLMServer" in (a.get("name") or "")]
        if alive and alive[0]["pid"] != replicas[0]["pid"] and _ok(served):
            return
        time.sleep(3)
    pytest.fail("Serve did not bring the LLMServer replica back within 10 minutes")


NO_THINKING = {"chat_template_kwargs": {"enable_thinking": False}}


def test_a_client_grammar_from_fcray_reaches_the_engine(client, model):
    """What the eval's endpoint backend sends to a vLLM server: fcray's grammar as structured_outputs."""
    from fcray.toolcall.grammar import tool_call_grammar

    grammar = tool_call_grammar([WEATHER], require_call=True, max_calls=1, max_string_length=8)
    response = client.chat.completions.create(model=model, messages=QUESTION, tools=[WEATHER], max_tokens=64,
                                              temperature=0, extra_body={"structured_outputs": {"grammar": grammar},
                                                                         **NO_THINKING})
    (call,) = response.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and len(json.loads(call.function.arguments)["city"]) <= 8


# Clean replies: fcray serves with thinking off unless the client asks (its models are trained that way), so
# Qwen3's template writes the empty think block into the prompt and the reply has none; with thinking on,
# vLLM's reasoning parser keeps the reasoning out of `content`. The random model is steered: a regex fixes the
# answer's text (vLLM applies it after the reasoning), logit_bias on </think> ends the reasoning at once.
EMPTY_THINK = "<think>\n\n</think>\n\n"


def _prompt_text(response, tiny_model_dir):
    from transformers import AutoTokenizer

    ids = (response.model_extra or {}).get("prompt_token_ids")
    assert ids, "vLLM returned no prompt_token_ids"
    return AutoTokenizer.from_pretrained(tiny_model_dir).decode(ids)


def _stream_text(stream):
    content, reasoning = "", ""
    for chunk in stream:
        for choice in chunk.choices:
            content += choice.delta.content or ""
            reasoning += (choice.delta.model_extra or {}).get("reasoning") or ""
    return content, reasoning


@pytest.mark.parametrize("stream", [False, True])
def test_a_default_request_gets_no_think_tags(client, model, tiny_model_dir, stream):
    kwargs = dict(model=model, messages=QUESTION, max_tokens=32, temperature=0,
                  extra_body={**_forced(re.escape("It is 3 in Oslo.")), "return_token_ids": True})
    if stream:
        content, reasoning = _stream_text(client.chat.completions.create(stream=True, **kwargs))
    else:
        response = client.chat.completions.create(**kwargs)
        assert _prompt_text(response, tiny_model_dir).endswith(EMPTY_THINK)  # thinking off: the template closed it
        content = response.choices[0].message.content
        reasoning = (response.choices[0].message.model_extra or {}).get("reasoning")
    assert content == "It is 3 in Oslo." and not reasoning


@pytest.mark.parametrize("stream", [False, True])
def test_with_thinking_on_the_reasoning_stays_out_of_content(client, model, tiny_model_dir, stream):
    from transformers import AutoTokenizer

    end = AutoTokenizer.from_pretrained(tiny_model_dir).convert_tokens_to_ids("</think>")
    kwargs = dict(model=model, messages=QUESTION, max_tokens=32, temperature=0, logit_bias={str(end): 100},
                  extra_body={**_forced(re.escape("It is 3 in Oslo.")), "return_token_ids": True,
                              "chat_template_kwargs": {"enable_thinking": True}})
    if stream:
        content, reasoning = _stream_text(client.chat.completions.create(stream=True, **kwargs))
    else:
        response = client.chat.completions.create(**kwargs)
        assert not _prompt_text(response, tiny_model_dir).endswith(EMPTY_THINK)  # the client's choice kept
        content = response.choices[0].message.content
        reasoning = (response.choices[0].message.model_extra or {}).get("reasoning")
    assert content == "It is 3 in Oslo."
    assert "<think>" not in (reasoning or "") and "</think>" not in (reasoning or "")


def _llm_replica_access_lines() -> int:
    """Serve's access-log lines ("CALL chat OK ...") in the LLMServer replicas' Serve logs of this run's heads
    (their sessions live under this run's RAY_TMPDIR)."""
    from pathlib import Path

    files = Path(os.environ["RAY_TMPDIR"]).glob("**/session_*/logs/serve/replica_*LLMServer*.log")
    return sum(line.count(" CALL chat OK ") for f in files for line in f.read_text(errors="replace").splitlines())


def test_the_llm_replica_keeps_writing_its_serve_request_log(client, model):
    """vLLM's logging setup at engine start closes Serve's log handler in the replica; fcray's LLMServer gives it
    its file back. Without that, the replica's Serve log stops at start-up and every request's access-log record
    stays in the replica's memory (the soak's +1.15 MiB/min: fcray/serve/llm_server.py)."""
    from fcray.readiness import wait_until

    before = _llm_replica_access_lines()
    for _ in range(3):
        client.chat.completions.create(model=model, messages=QUESTION, max_tokens=4, temperature=0)
    wait_until(lambda: _llm_replica_access_lines() >= before + 3, "the LLM replica's access-log lines", 30)
