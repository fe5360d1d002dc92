"""The serve configs: generated from the presets (one source of truth), valid for Ray's own schemas."""

from __future__ import annotations

import pytest
import yaml

from fcray.config import ConfigError, load_config
from fcray.serve.config import SERVE_CONFIGS, render, serve_deploy_config


@pytest.mark.parametrize("preset", ["tiny", "qwen3-0.6b"])
def test_committed_serve_configs_are_generated_from_the_presets(preset):
    path = SERVE_CONFIGS / f"{preset}.yaml"
    assert path.read_text() == render(load_config(preset)), (
        f"{path} is out of date: run `fcray serve --write-config --preset {preset}`")


@pytest.mark.parametrize("preset", ["tiny", "qwen3-0.6b"])
def test_serve_configs_validate_with_rays_schemas(preset):
    from ray.serve.llm import LLMConfig
    from ray.serve.schema import ServeDeploySchema

    data = yaml.safe_load((SERVE_CONFIGS / f"{preset}.yaml").read_text())
    ServeDeploySchema.model_validate(data)
    llm = data["applications"][0]["args"]["llm_configs"][0]
    engine = llm["engine_kwargs"]
    assert engine["enable_auto_tool_choice"] is True and engine["tool_call_parser"] == "hermes"
    assert engine["max_num_seqs"] and engine["max_num_batched_tokens"]  # set explicitly
    scaling = llm["deployment_config"]["autoscaling_config"]
    assert 1 <= scaling["min_replicas"] <= scaling["max_replicas"]
    # Ray Serve LLM's own model accepts it (the model source aside, which needs the weights to inspect)
    fields = set(LLMConfig.model_fields)
    assert set(llm) <= fields, set(llm) - fields


def test_tiny_config_runs_on_cpu_and_the_gpu_one_on_gpus():
    tiny = serve_deploy_config(load_config("tiny"))["applications"][0]["args"]["llm_configs"][0]
    gpu = serve_deploy_config(load_config("qwen3-0.6b"))["applications"][0]["args"]["llm_configs"][0]
    assert tiny["accelerator_config"] == {"kind": "cpu"} and tiny["engine_kwargs"]["kv_cache_memory_bytes"]
    assert tiny["model_loading_config"]["model_source"] == "fcray:tiny"
    assert "accelerator_config" not in gpu and gpu["placement_group_config"]["bundles"][0]["GPU"] == 1
    assert gpu["engine_kwargs"]["dtype"] == "bfloat16" and gpu["engine_kwargs"]["enforce_eager"] is False


@pytest.mark.parametrize("override,message", [
    ("serve.engine.kv_cache_memory_bytes=null", "serve.engine.kv_cache_memory_bytes: vLLM's CPU backend needs it set"),
    ("serve.min_replicas=3", "serve.min_replicas: need 1 <= min_replicas <= max_replicas"),
    ("serve.engine.max_num_batched_tokens=4", "serve.engine.max_num_batched_tokens: must be >= max_num_seqs (8)"),
    ("serve.engine.gpus=-1", "serve.engine.gpus: must be >= 0"),
    ("serve.accelerator_type=H100", "serve.accelerator_type: only for GPU replicas"),
])
def test_bad_serve_settings_are_named(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config("tiny", overrides=[override])


def test_constrained_decoding_reaches_the_ingress_only_when_on():
    from fcray.serve.config import ingress_cls_config

    # thinking off unless a client asks (fcray trains that way), reasoning moved out of content by vLLM's parser
    # and the request limits it enforces (max_output_tokens: the engine's context unless set); no key unless set
    assert ingress_cls_config(load_config("tiny")) == {"ingress_cls": "fcray.serve.ingress:FcrayIngress",
                                                       "ingress_extra_kwargs": {
                                                           "enable_thinking": False, "reasoning_parser": True,
                                                           "limits": {"max_request_bytes": 2 << 20, "max_tools": 128,
                                                                      "max_output_tokens": 2048}}}
    keyed = ingress_cls_config(load_config("tiny", overrides=["serve.api_key=file:~/.fcray/key"]))
    assert keyed["ingress_extra_kwargs"]["api_key"] == "file:~/.fcray/key"  # the reference, never the key
    on = ingress_cls_config(load_config("tiny", overrides=["decoding.constrained=true", "decoding.max_calls=2"]))
    assert on["ingress_extra_kwargs"]["decoding"]["constrained"] is True
    assert on["ingress_extra_kwargs"]["decoding"]["max_calls"] == 2
    # one structured-outputs backend per engine: LLGuidance when fcray's grammars are served, vLLM's choice if not
    from fcray.serve.config import engine_kwargs

    assert "structured_outputs_config" not in engine_kwargs(load_config("tiny"))
    constrained = engine_kwargs(load_config("tiny", overrides=["decoding.constrained=true"]))
    assert constrained["structured_outputs_config"] == {"backend": "guidance"}


WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {
    "type": "object", "properties": {"zone": {"type": "string"}}}}}
NAMED = {"type": "function", "function": {"name": "get_time"}}


# (answer, max calls, tools the calls may name); None = the request is not constrained by fcray
@pytest.mark.parametrize("request_fields, expected", [
    ({}, ("TEXT | calls", 4, {"get_weather", "get_time"})),
    ({"tool_choice": "auto"}, ("TEXT | calls", 4, {"get_weather", "get_time"})),
    ({"tool_choice": "auto", "parallel_tool_calls": False}, ("TEXT | calls", 1, {"get_weather", "get_time"})),
    ({"tool_choice": "required"}, ("calls", 4, {"get_weather", "get_time"})),
    ({"tool_choice": "required", "parallel_tool_calls": False}, ("calls", 1, {"get_weather", "get_time"})),
    ({"tool_choice": NAMED}, ("calls", 1, {"get_time"})),
    ({"tool_choice": "none"}, None),
    ({"structured_outputs": {"regex": "a+"}}, None),              # the client's constraint wins
    ({"response_format": {"type": "json_object"}}, None),
    ({"tools": None}, None),                                       # no tools: a text answer
])
def test_which_requests_the_ingress_constrains_and_how(request_fields, expected):
    import json
    import re

    from ray.llm._internal.serve.core.configs.openai_api_models import ChatCompletionRequest

    from fcray.config import DecodingConfig
    from fcray.serve.ingress import request_grammar

    fields = {"tools": [WEATHER, TIME], **request_fields}
    if fields["tools"] is None:
        del fields["tools"]
    body = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], **fields)
    grammar = request_grammar(body, DecodingConfig(constrained=True))
    assert request_grammar(body, DecodingConfig()) is None  # off: never
    if expected is None:
        assert grammar is None
        return
    answer, max_calls, names = expected
    lines = grammar.splitlines()
    # Qwen3's template thinks unless the client says otherwise: the grammar lets it
    assert lines[1] == f"start: think ({answer})"
    calls = next(line for line in lines if line.startswith("calls:"))
    assert calls == ("calls: call" if max_calls == 1 else f'calls: call ("\\n" call){{0,{max_calls - 1}}}')
    body_schema = json.loads(next(line for line in lines if line.startswith("body: %json "))[len("body: %json "):])
    assert {s["properties"]["name"]["const"] for s in body_schema["anyOf"]} == names
    assert not re.search("think", request_grammar(ChatCompletionRequest(
        model="m", messages=[{"role": "user", "content": "hi"}], chat_template_kwargs={"enable_thinking": False},
        **fields), DecodingConfig(constrained=True)))
    # an engine with a reasoning parser applies the grammar after the reasoning: no think block in it
    assert request_grammar(body, DecodingConfig(constrained=True), reasoning_parser=True).splitlines()[1] == (
        f"start: {answer}")
