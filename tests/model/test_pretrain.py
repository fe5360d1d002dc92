"""Pretraining the embedded base: deterministic from its seed, and it learns the corpus."""

from __future__ import annotations

import json

import torch

from fcray.config import TinyModelConfig
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
