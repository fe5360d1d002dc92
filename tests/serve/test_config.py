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
    ("serve.engine.max_num_batched_tokens=4", "serve.engine.max_num_batched_tokens: must be >= max_num_seqs (16)"),
    ("serve.engine.gpus=-1", "serve.engine.gpus: must be >= 0"),
    ("serve.accelerator_type=H100", "serve.accelerator_type: only for GPU replicas"),
])
def test_bad_serve_settings_are_named(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config("tiny", overrides=[override])


def test_constrained_decoding_reaches_the_ingress_only_when_on():
    from fcray.serve.config import ingress_cls_config

    assert ingress_cls_config(load_config("tiny")) == {"ingress_cls": "fcray.serve.ingress:FcrayIngress"}
    on = ingress_cls_config(load_config("tiny", overrides=["decoding.constrained=true", "decoding.max_calls=2"]))
    assert on["ingress_extra_kwargs"]["decoding"]["constrained"] is True
    assert on["ingress_extra_kwargs"]["decoding"]["max_calls"] == 2



@pytest.mark.parametrize("request_fields, constrained", [
    ({"tools": "weather"}, True),
    ({"tools": "weather", "tool_choice": "auto"}, True),
    ({}, False),                                                        # no tools: a text answer
    ({"tools": "weather", "tool_choice": "none"}, False),
    ({"tools": "weather", "tool_choice": "required"}, False),           # vLLM's own constrained mode
    ({"tools": "weather", "structured_outputs": {"regex": "a+"}}, False),  # the client's constraint wins
    ({"tools": "weather", "response_format": {"type": "json_object"}}, False),
])
def test_which_requests_the_ingress_constrains(request_fields, constrained):
    from ray.llm._internal.serve.core.configs.openai_api_models import ChatCompletionRequest

    from fcray.config import DecodingConfig
    from fcray.serve.ingress import request_grammar

    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}
    fields = {**request_fields, **({"tools": [weather]} if "tools" in request_fields else {})}
    body = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], **fields)
    grammar = request_grammar(body, DecodingConfig(constrained=True))
    assert (grammar is not None) is constrained
    assert request_grammar(body, DecodingConfig()) is None
    if constrained:  # Qwen3's template thinks unless the client says otherwise: the grammar lets it
        assert grammar.splitlines()[1].startswith("start: think")
