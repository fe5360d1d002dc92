"""Every reference answer fcray's data pipeline produces must earn the full reward: the checks never
punish the truth (synthetic data with every augmentation, and the xlam / hermes converters)."""

from __future__ import annotations

import pytest

from fcray.config import AugmentConfig, DataConfig
from fcray.data.augment import augment_split
from fcray.data.export import render_text, render_prompt
from fcray.data.pipeline import load_source
from fcray.synth.generator import generate_examples
from fcray.toolcall import format_message, judge


def _examples(fixtures_dir):
    examples = generate_examples(400, seed=8, holdout_share=0.1)
    added, _ = augment_split(examples, AugmentConfig(irrelevance_ratio=0.3, slot_filling_ratio=0.3,
                                                     multi_turn_ratio=0.3, chat_ratio=0.1), "t")
    xlam, _ = load_source(DataConfig(source="xlam", path=str(fixtures_dir / "xlam_sample.json")))
    hermes, _ = load_source(DataConfig(source="hermes", path=str(fixtures_dir / "hermes_sample.jsonl")))
    return examples + added + xlam + hermes


def test_reference_answers_earn_full_reward(fixtures_dir):
    examples = _examples(fixtures_dir)
    assert {e["category"] for e in examples} >= {"single", "multiple", "parallel", "parallel_multiple",
                                                  "irrelevance", "slot_filling", "multi_turn", "chat"}
    for example in examples:
        judgement = judge(format_message(example["messages"][-1]), example)
        scores = {k: s.value for k, s in judgement.scores.items()}
        assert judgement.reward == pytest.approx(1.0), (example["id"], judgement.to_dict())
        assert scores["match"] == 1.0 and scores["args_f1"] == 1.0, (example["id"], judgement.to_dict())
        assert scores["execute"] == 1.0 and scores["result"] == 1.0, (example["id"], judgement.to_dict())
        assert scores["no_call_penalty"] == 0.0 and scores["ask_penalty"] == 0.0
        if judgement.metrics is not None:
            assert judgement.metrics.hallucinated == 0, example["id"]


def test_format_message_is_what_the_chat_template_renders(tiny_tokenizer, fixtures_dir):
    for example in _examples(fixtures_dir)[:200]:
        if example["ground_truth"]["kind"] != "call":
            continue
        completion = render_text(example, tiny_tokenizer)[len(render_prompt(example, tiny_tokenizer)):]
        assert completion == format_message(example["messages"][-1]) + "<|im_end|>\n"
