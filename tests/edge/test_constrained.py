"""Constrained tool calls on llama.cpp: fcray's grammar (LLGuidance Lark with the tools' JSON Schemas) on the
completion endpoint, the prompt rendered by fcray, the reply parsed by fcray — the same grammar vLLM applies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fcray.edge.server import LlamaServer

EDGE = SimpleNamespace(host="127.0.0.1", port=0, threads=1, ctx_size=2048, parallel=1)


@pytest.fixture(scope="module")
def base_server(exported):
    """Model A (the untrained tiny model) at Q8_0: it has never written a call."""
    with LlamaServer(exported["files"]["q8_0"]["path"], EDGE, "fcray-a") as server:
        yield server


def _examples(synthetic_examples, tokenizer, limit=10):
    from fcray.data.export import render_prompt

    fits = [e for e in synthetic_examples if e["tools"]
            and len(tokenizer(render_prompt(e, tokenizer), add_special_tokens=False)["input_ids"]) <= 1400]
    return fits[:limit]


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_forced_calls_of_an_untrained_model_always_parse_and_fit_a_tool(base_server, tiny_model_dir, tiny_tokenizer,
                                                                        synthetic_examples, temperature):
    from fcray.config import DecodingConfig, EvalConfig
    from fcray.eval.backends import EndpointBackend
    from fcray.toolcall.parse import parse_completion
    from fcray.toolcall.schema import check_calls

    examples = _examples(synthetic_examples, tiny_tokenizer)
    config = EvalConfig(backend="endpoint", endpoint=base_server.url, endpoint_api="completions",
                        tokenizer=str(tiny_model_dir), max_new_tokens=200, temperature=temperature, concurrency=1)
    decoding = DecodingConfig(constrained=True, require_call=True, max_calls=2, max_string_length=16)
    backend = EndpointBackend("fcray-a", config, decoding)
    assert backend.llamacpp  # found by its /props: the grammar goes in llama.cpp's own field
    try:
        generations = backend.generate(examples)
    finally:
        backend.close()
    for example, generation in zip(examples, generations):
        parsed = parse_completion(generation.text)
        assert parsed.ok, (parsed.status, generation.text)
        assert check_calls(parsed.calls, example["tools"]) == [[]] * len(parsed.calls), generation.text
        assert generation.finish_reason == "stop"


def test_unconstrained_completions_are_the_model_without_its_servers_tool_handling(base_server, tiny_model_dir,
                                                                                  tiny_tokenizer, synthetic_examples):
    """eval.endpoint_api=completions without a grammar: the raw prompt, the model's own text (what the
    quantized weights say, not what llama.cpp's chat endpoint makes of them)."""
    from fcray.config import EvalConfig
    from fcray.eval.backends import EndpointBackend
    from fcray.toolcall.parse import parse_completion

    examples = _examples(synthetic_examples, tiny_tokenizer, limit=3)
    config = EvalConfig(backend="endpoint", endpoint=base_server.url, endpoint_api="completions",
                        tokenizer=str(tiny_model_dir), max_new_tokens=24)
    backend = EndpointBackend("fcray-a", config)
    try:
        generations = backend.generate(examples)
    finally:
        backend.close()
    assert all(g.text and not parse_completion(g.text).ok for g in generations)  # A writes no call by itself


def test_the_chat_endpoint_cannot_take_the_grammar_and_says_what_to_do(base_server):
    from fcray.config import DecodingConfig, EvalConfig
    from fcray.eval.backends import EndpointBackend
    from fcray.eval.errors import EvalError

    with pytest.raises(EvalError, match="eval.endpoint_api=completions"):
        EndpointBackend("fcray-a", EvalConfig(backend="endpoint", endpoint=base_server.url),
                        DecodingConfig(constrained=True))


def test_a_model_that_calls_ends_its_answer_after_its_call(calling_export, calling_model):
    """The grammar ends on the template's end of turn (<|im_end|>), not only on llama.cpp's own end of
    sequence: a model that answers with one call and <|im_end|> stops there instead of being kept writing
    calls up to decoding.max_calls."""
    from fcray.config import DecodingConfig, EvalConfig
    from fcray.eval.backends import EndpointBackend
    from fcray.toolcall.parse import parse_completion
    from tests.edge.conftest import QUESTION, WEATHER

    example = {"id": "oslo", "tools": [WEATHER], "messages": [*QUESTION, {"role": "assistant", "content": ""}]}
    with LlamaServer(calling_export["files"]["q8_0"]["path"], EDGE, "fcray-calls") as server:
        config = EvalConfig(backend="endpoint", endpoint=server.url, endpoint_api="completions",
                            tokenizer=str(calling_model), max_new_tokens=96)
        backend = EndpointBackend("fcray-calls", config, DecodingConfig(constrained=True))
        try:
            (generation,) = backend.generate([example])
        finally:
            backend.close()
    parsed = parse_completion(generation.text)
    assert [c.to_dict() for c in parsed.calls] == [{"name": "get_weather", "arguments": {"city": "Oslo"}}], generation.text
    assert generation.finish_reason == "stop"
