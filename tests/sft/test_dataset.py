from __future__ import annotations

import json

from fcray.data.export import render_text
from fcray.sft.dataset import sft_dataset


def test_sft_rows_render_exactly_like_canonical_examples(tiny_tokenizer, synthetic_examples):
    from fcray.config import AugmentConfig
    from fcray.data.augment import augment_split

    added, _ = augment_split(synthetic_examples[:100], AugmentConfig(multi_turn_ratio=0.3), "t")
    examples = synthetic_examples[:100] + added
    dataset = sft_dataset(examples)  # through Arrow, as TRL sees it
    for example, row in zip(examples, dataset):
        rendered = tiny_tokenizer.apply_chat_template(row["messages"], tools=json.loads(row["tools"]), tokenize=False)
        assert rendered == render_text(example, tiny_tokenizer)
