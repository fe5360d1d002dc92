"""Pretraining the embedded base: deterministic from its seed, and it learns the corpus."""

from __future__ import annotations

import json

import torch

from fcray.config import ConfigError, TinyModelConfig
from fcray.model.tiny import build_tiny_model

# a small budget: 20 steps of 2 x 128 tokens on a 2-layer model
SMALL = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
             head_dim=32, vocab_size=1024, tokenizer_corpus_examples=300, pretrain_tokens=20 * 2 * 128,
             pretrain_block_size=128, pretrain_batch_size=2)


def test_builder_is_deterministic_and_records_its_run(tmp_path):
    from safetensors.torch import load_file

    config = TinyModelConfig(**SMALL)
    first, second = build_tiny_model(config, tmp_path / "a"), build_tiny_model(config, tmp_path / "b")
    a, b = load_file(first / "model.safetensors"), load_file(second / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (first / "tokenizer.json").read_text() == (second / "tokenizer.json").read_text()
    record = json.loads((first / "pretraining.json").read_text())
    assert record["tokens_seen"] == config.pretrain_tokens and record["steps"] == 20
    assert [p["step"] for p in record["loss_curve"]] == [10, 20]
    assert record["loss_curve"][1]["loss"] < record["loss_curve"][0]["loss"]  # it learns the corpus
    assert "pretrained on 5,120 tokens" in (first / "README.md").read_text()
    random_init = load_file(build_tiny_model(TinyModelConfig(**{**SMALL, "pretrain_tokens": 0}), tmp_path / "c")
                            / "model.safetensors")
    assert not all(torch.equal(a[k], random_init[k]) for k in a)  # pretraining changed the weights


def test_copy_rows_repeat_random_spans_of_ordinary_tokens():
    from fcray.model.pretrain import COPY_REPEATS, COPY_SPAN, copy_rows

    ordinary = torch.arange(100, 200)
    rows = copy_rows(ordinary, 3, 300, torch.Generator().manual_seed(0))
    segment = COPY_SPAN * COPY_REPEATS
    assert rows.shape == (3, 300) and rows.min() >= 100 and rows.max() < 200
    for row in rows:
        for start in range(0, 300, segment):  # each segment is one span repeated (the last one cut at 300)
            span = row[start:start + COPY_SPAN]
            body = row[start:start + segment]
            assert torch.equal(body, span.repeat(COPY_REPEATS)[: len(body)])
        assert not torch.equal(row[:COPY_SPAN], row[segment:segment + COPY_SPAN])  # a new span per segment
    again = copy_rows(ordinary, 3, 300, torch.Generator().manual_seed(0))
    assert torch.equal(rows, again)


def test_copy_warmup_and_copy_rows_are_recorded_and_skip_added_tokens(tmp_path):
    from transformers import AutoTokenizer

    from fcray.model.pretrain import ordinary_ids

    config = TinyModelConfig(**SMALL, pretrain_copy_steps=3, pretrain_copy_rows=1)
    folder = build_tiny_model(config, tmp_path / "m")
    record = json.loads((folder / "pretraining.json").read_text())
    assert record["copy_warmup"]["steps"] == 3 and record["steps"] == 20
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ordinary = set(ordinary_ids(tokenizer).tolist())
    assert not ordinary & {tokenizer.convert_tokens_to_ids(t) for t in ("<|im_start|>", "<tool_call>", "<|endoftext|>")}
    assert len(ordinary) == len(tokenizer) - len(tokenizer.added_tokens_decoder)


def test_copy_rows_must_leave_corpus_rows():
    import pytest

    with pytest.raises(ConfigError, match="pretrain_copy_rows"):
        TinyModelConfig(pretrain_batch_size=4, pretrain_copy_rows=4)
