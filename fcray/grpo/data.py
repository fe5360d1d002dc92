"""Canonical examples -> the prompt dataset GRPO samples from.

Each row holds the generation prompt rendered with the policy's own chat template and the example's tools
(``render_prompt``: the text vLLM continues), plus the columns fcray's reward functions read (``tools``,
``ground_truth``, ``messages`` as JSON text; Arrow would otherwise merge the per-row tool schemas into one
struct type). Prompts longer than ``max_prompt_length`` tokens are left out and counted, never truncated:
a cut prompt loses its tools or its question and would teach the wrong thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fcray.data.export import render_prompt


@dataclass
class PromptSet:
    rows: list[dict[str, Any]]
    skipped_too_long: list[str]  # example ids left out (prompt longer than max_prompt_length)


def prompt_rows(examples: list[dict[str, Any]], tokenizer: Any, max_prompt_length: int,
                enable_thinking: bool = False) -> PromptSet:
    rows, skipped = [], []
    for example in examples:
        prompt = render_prompt(example, tokenizer, enable_thinking)
        if len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) > max_prompt_length:
            skipped.append(example["id"])
            continue
        rows.append({"prompt": prompt, "id": example["id"],
                     "tools": json.dumps(example["tools"], ensure_ascii=False),
                     "ground_truth": json.dumps(example["ground_truth"], ensure_ascii=False),
                     "messages": json.dumps(example["messages"], ensure_ascii=False)})
    if not rows:
        raise ValueError(f"no GRPO prompt fits grpo.max_prompt_length={max_prompt_length} tokens "
                         f"({len(skipped)} examples were longer); raise it")
    return PromptSet(rows, skipped)


def grpo_dataset(prompt_set: PromptSet):
    import datasets

    return datasets.Dataset.from_list(prompt_set.rows)
