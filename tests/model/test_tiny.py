from __future__ import annotations

import json

import torch

from fcray.config import TinyModelConfig
from fcray.model.tiny import ADDED_TOKENS, SPECIAL_TOKENS, ensure_tiny_model, qwen3_chat_template


def test_tiny_model_roundtrip_and_shape(tiny_model_dir):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tiny_model_dir)
    assert config.model_type == "qwen3" and config.head_dim >= 32
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    n_params = sum(p.numel() for p in model.parameters())
    assert 1e6 < n_params < 20e6
    reloaded = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ids = torch.tensor([[1, 2, 3, 4]])
    assert torch.equal(model(ids).logits, reloaded(ids).logits)
    assert ensure_tiny_model(TinyModelConfig()) == tiny_model_dir  # cached, not rebuilt


def test_tokenizer_tokens_and_template(tiny_tokenizer):
    from trl.chat_template_utils import get_training_chat_template

    assert tiny_tokenizer.chat_template == qwen3_chat_template()
    assert get_training_chat_template(tiny_tokenizer) is not None  # TRL recognises Qwen3's template
    for token in SPECIAL_TOKENS + ADDED_TOKENS:
        ids = tiny_tokenizer(token, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and tiny_tokenizer.convert_ids_to_tokens(ids[0]) == token
    assert tiny_tokenizer.eos_token == "<|im_end|>" and tiny_tokenizer.pad_token == "<|endoftext|>"
    text = '<tool_call>\n{"name": "f", "arguments": {"x": 12.5}}\n</tool_call><|im_end|>'
    ids = tiny_tokenizer(text)["input_ids"]
    # <tool_call> tags survive skip_special_tokens (plain added tokens, as in Qwen3); <|im_end|> does not.
    assert tiny_tokenizer.decode(ids, skip_special_tokens=True) == text.replace("<|im_end|>", "")
    assert tiny_tokenizer.decode(ids) == text
    text = "Straße, 東京 and émojis 🎉 round-trip"
    assert tiny_tokenizer.decode(tiny_tokenizer(text)["input_ids"]) == text  # byte-level: any text


def test_chat_template_renders_tools_calls_and_results(tiny_tokenizer):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
                                                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    messages = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
        {"role": "tool", "content": '{"temp": 3}'},
        {"role": "assistant", "content": "It is 3 degrees."},
    ]
    text = tiny_tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)
    assert text.startswith("<|im_start|>system\n# Tools\n\nYou may call one or more functions")
    assert "<tools>\n" + json.dumps(tools[0]) + "\n</tools>" in text
    assert '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call><|im_end|>' in text
    assert '<|im_start|>user\n<tool_response>\n{"temp": 3}\n</tool_response><|im_end|>' in text
    prompt = tiny_tokenizer.apply_chat_template(messages[:1], tools=tools, tokenize=False, add_generation_prompt=True,
                                                enable_thinking=False)
    assert prompt.endswith("<|im_start|>user\nWeather in Oslo?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_generation_config_stops_at_end_of_turn(tiny_model_dir, tiny_tokenizer):
    from transformers import GenerationConfig

    generation = GenerationConfig.from_pretrained(tiny_model_dir)
    im_end = tiny_tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert im_end in generation.eos_token_id
    assert (generation.temperature, generation.top_p, generation.top_k) == (0.7, 0.8, 20)


def _pre_tokens(tokenizer, text):
    return [piece for piece, _ in tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(text)]


def test_isolated_words_tokenizer_keeps_qwens_pattern_and_copies_values_token_for_token(synthetic_examples):
    from tokenizers import Regex, pre_tokenizers

    from fcray.data.export import render_text
    from fcray.model.tiny import ISOLATED_WORDS_PATTERN, QWEN_SPLIT_PATTERN, build_tokenizer

    small = dict(vocab_size=1024, tokenizer_corpus_examples=300)
    isolated, plain = build_tokenizer(TinyModelConfig(isolate_words=True, **small)), build_tokenizer(TinyModelConfig(**small))
    # Both save Qwen's own split pattern (what llama.cpp's qwen2 pre-tokenizer runs) ...
    for tok in (isolated, plain):
        assert json.loads(tok.backend_tokenizer.to_str())["pre_tokenizer"]["pretokenizers"][0]["pattern"] == {
            "Regex": QWEN_SPLIT_PATTERN}
    assert _pre_tokens(isolated, ' "Paris') == _pre_tokens(plain, ' "Paris') == ["Ġ\"", "Paris"]
    # ... but no merge of the isolated tokenizer joins a letter to the space or quote before it, so its ids
    # equal those of the isolating pattern on every rendered example.
    split = copy_of(isolated.backend_tokenizer)
    split.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(ISOLATED_WORDS_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    for example in synthetic_examples[:50]:
        text = render_text(example, isolated)
        assert isolated(text, add_special_tokens=False)["input_ids"] == split.encode(text, add_special_tokens=False).ids
    # A value is the same tokens in the query and in the call's JSON string: an identity copy.
    query, call = " from Paris", '{"city": "Paris"}'
    value = isolated("Paris", add_special_tokens=False)["input_ids"]
    assert _contains(isolated(query)["input_ids"], value) and _contains(isolated(call)["input_ids"], value)
    assert not _contains(plain(query)["input_ids"], plain("Paris", add_special_tokens=False)["input_ids"])


def copy_of(backend):
    from tokenizers import Tokenizer

    return Tokenizer.from_str(backend.to_str())


def _contains(haystack, needle):
    return any(haystack[i:i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))
