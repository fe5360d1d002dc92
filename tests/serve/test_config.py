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
