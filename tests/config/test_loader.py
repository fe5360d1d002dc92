from __future__ import annotations

import pytest

from fcray.config import ConfigError, available_presets, load_config


def test_presets_ship_and_load():
    assert {"tiny", "qwen3-0.6b"} <= set(available_presets())
    tiny = load_config("tiny")
    assert tiny.preset == "tiny" and tiny.model.name_or_path == "tiny" and tiny.data.source == "synthetic"
    real = load_config("qwen3-0.6b")
    # The reference recipe.
    assert (real.sft.lora.r, real.sft.lora.alpha, real.sft.lora.dropout) == (32, 64, 0.05)
    assert real.sft.lora.enabled and real.sft.lora.target_modules == "all-linear"
    assert (real.sft.learning_rate, real.sft.lr_scheduler_type, real.sft.num_train_epochs) == (2e-4, "cosine", 3.0)
    assert (real.sft.per_device_train_batch_size, real.sft.gradient_accumulation_steps) == (2, 8)
    assert real.sft.bf16 and 2048 <= real.sft.max_length <= 4096
    assert real.model.name_or_path == "Qwen/Qwen3-0.6B" and real.data.path == "Salesforce/xlam-function-calling-60k"


@pytest.mark.parametrize(
    ("override", "attr", "expected"),
    [
        ("sft.learning_rate=1e-4", ("sft", "learning_rate"), 1e-4),  # YAML 1.1 reads 1e-4 as a string
        ("sft.learning_rate=3", ("sft", "learning_rate"), 3.0),  # int accepted for float
        ("sft.ray_train.num_workers=4", ("sft", "ray_train", "num_workers"), 4),
        ("sft.lora.enabled=true", ("sft", "lora", "enabled"), True),
        ("bench.concurrency=[1, 8]", ("bench", "concurrency"), [1, 8]),
        ("data.augment.chat_ratio=0.2", ("data", "augment", "chat_ratio"), 0.2),
        ("sft.lora.target_modules=[q_proj, v_proj]", ("sft", "lora", "target_modules"), ["q_proj", "v_proj"]),
        ("grpo.reward_weights={parse: 1, match: 2}", ("grpo", "reward_weights"), {"parse": 1.0, "match": 2.0}),
        ("sft.ray_train.storage_path=s3://bucket/runs", ("sft", "ray_train", "storage_path"), "s3://bucket/runs"),
        # a partial section keeps the stage's own defaults for the rest: GRPO's adapter is off, SFT's on
        ("grpo.lora.r=8", ("grpo", "lora", "enabled"), False),
        ("serve.engine.cpus=2", ("serve", "engine", "gpu_memory_utilization"), 0.9),
        ("eval.engine.max_model_len=4096", ("eval", "engine", "dtype"), "float32"),  # null = model.dtype,
    ],
)
def test_dotted_overrides(override, attr, expected):
    value = load_config("tiny", overrides=[override])
    for name in attr:
        value = getattr(value, name)
    assert value == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["sft.lerning_rate=1"], "unknown key 'sft.lerning_rate' (from --set sft.lerning_rate=1); did you mean 'sft.learning_rate'"),
        (["nosuch.key=1"], "unknown key 'nosuch'"),
        (["sft.ray_train.num_workers=two"], "sft.ray_train.num_workers: expected int, got str 'two'"),
        (["sft.lora.enabled=1"], "sft.lora.enabled: expected bool"),
        (["model.dtype=fp8"], "model.dtype: must be one of 'float32', 'bfloat16', 'float16'"),
        (["data.val_fraction=1.5"], "data.val_fraction: must be in (0, 1), got 1.5 (from --set data.val_fraction=1.5)"),
        (["model.tiny.head_dim=16"], "model.tiny.head_dim: vLLM's CPU backend needs head_dim >= 32"),
        (["data.source=xlam", "data.path=null"], "data.path: source 'xlam' needs a path"),
        (["grpo.num_generations=1"], "grpo.num_generations: GRPO needs at least 2"),
        (["justakey"], "expected KEY=VALUE"),
        (["grpo.reward_weights={parse: 1, fromat: 1}"], "grpo.reward_weights: unknown reward component(s) ['fromat']"),
        (["grpo.reward_weights={parse: -1}"], "grpo.reward_weights: weights must be >= 0"),
        (["sft=3"], "sft: expected a mapping"),
        (["grpo.per_device_train_batch_size=6"], "grpo.per_device_train_batch_size: must be a multiple of grpo.num_generations (8)"),
        (["grpo.gradient_accumulation_steps=2", "grpo.steps_per_generation=3"],
         "grpo.steps_per_generation: must be >= 1 and divide grpo.gradient_accumulation_steps (2)"),
        (["grpo.engine.max_model_len=512"], "grpo.engine.max_model_len: must be >= grpo.max_prompt_length + grpo.max_completion_length (996)"),
        (["grpo.num_engines=0"], "grpo.num_engines: must be >= 1"),
        # a shared section's own checks name the key with its section
        (["grpo.lora.dropout=1.5"], "grpo.lora.dropout: must be in [0, 1) (from --set grpo.lora.dropout=1.5)"),
        (["sft.ray_train.num_workers=0"], "sft.ray_train.num_workers: must be >= 1"),
        (["eval.engine.cpus=0"], "eval.engine.cpus: must be >= 1"),
        (["eval.backend=openai"], "eval.backend: must be one of ('hf', 'vllm', 'endpoint'), got 'openai'"),
        (["eval.backend=endpoint"], "eval.endpoint: backend 'endpoint' needs the server's base URL"),
        (["eval.engine.max_model_len=96"], "eval.engine.max_model_len: must exceed eval.max_new_tokens (96)"),
        (["eval.confidence=95"], "eval.confidence: must be in (0.5, 1), got 95"),
        (["eval.endpoint_api=responses"], "eval.endpoint_api: must be one of ('chat', 'completions'), got 'responses'"),
        (["eval.backend=endpoint", "eval.endpoint=http://h/v1", "eval.endpoint_api=completions"],
         "eval.tokenizer: eval.endpoint_api=completions renders prompts itself"),
        (["serve.api_key=sk-live-123"], "serve.api_key: give where the key is, env:NAME or file:PATH, not the key itself"),
        (["eval.api_key=sk-live-123"], "eval.api_key: give where the key is, env:NAME or file:PATH, not the key itself"),
        (["serve.max_tools=0"], "serve.max_request_bytes: max_request_bytes and max_tools must be > 0"),
        (["serve.max_output_tokens=0"], "serve.max_output_tokens: must be > 0"),
        (["decoding.require_call=true"], "decoding.require_call: needs constrained: true"),
        (["decoding.constrained=true", "decoding.max_calls=0"], "decoding.max_calls: must be >= 1"),
        (["decoding.max_string_length=0"], "decoding.max_string_length: must be >= 1"),
        (["bench.sweep.kv_cache_memory_bytes=[0]"], "bench.sweep.kv_cache_memory_bytes: values must be > 0 bytes"),
        (["bench.sweep.kv_cache_memory_bytes=[67108864]", "serve.engine.gpus=1"],
         "bench.sweep.kv_cache_memory_bytes: sweeps CPU engines only"),
        (["eval.bfcl.categories=[live, web_search]"], "eval.bfcl.categories: ['web_search'] need the network"),
        (["grpo.engine.num_engines=2"], "unknown key 'grpo.engine.num_engines' (from --set grpo.engine.num_engines=2); valid keys: cpus, dtype"),
        # a key of before the shared sections names its new place
        (["sft.lora_r=8"], "'sft.lora_r' (from --set sft.lora_r=8) is now sft.lora.r"),
        (["grpo.rollout.num_actors=2"], "'grpo.rollout' (from --set grpo.rollout.num_actors=2) is now grpo.engine"),
        (["serve.accelerator=gpu"], "'serve.accelerator' (from --set serve.accelerator=gpu) is now serve.engine.gpus"),
        (["eval.max_model_len=64"], "'eval.max_model_len' (from --set eval.max_model_len=64) is now eval.engine.max_model_len"),
    ],
)
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config("tiny", overrides=overrides)
    assert message in str(info.value)


def test_config_file_layers_on_preset_and_errors_name_the_file(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("sft:\n  learning_rate: 5.0e-4\n")
    config = load_config("tiny", config_file=good, overrides=["sft.learning_rate=6e-4"])
    assert config.sft.learning_rate == 6e-4  # --set wins over the file
    assert load_config("tiny", config_file=good).sft.learning_rate == 5e-4
    assert load_config("tiny", config_file=good).sft.ray_train == load_config("tiny").sft.ray_train

    bad = tmp_path / "bad.yaml"
    bad.write_text("sft:\n  warmup_ratio: lots\n")
    with pytest.raises(ConfigError, match=rf"sft.warmup_ratio: expected float, got str 'lots' \(from {bad}\)"):
        load_config("tiny", config_file=bad)
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config("tiny", config_file=tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config("tiny", config_file=tmp_path / "missing.yaml")


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(ConfigError, match="unknown preset 'huge'; available presets: .*tiny"):
        load_config("huge")
