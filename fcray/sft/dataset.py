"""Canonical examples -> the conversational dataset TRL's SFTTrainer trains on.

Each row is ``{"messages": [...], "tools": "<JSON text>"}``. TRL renders it with the tokenizer's chat
template (tools in the system turn) and, for assistant-only loss, swaps in Qwen3's training template
with ``{% generation %}`` markers.

Arrow stores one struct type per column, so per-row tool-call ``arguments`` objects would be merged into
one struct with invented ``null`` keys. They are stored as JSON text instead: Qwen3's template writes a
string ``arguments`` verbatim, which is byte-identical to its ``tojson`` of the object
(tests/sft/test_dataset.py checks this).
"""

from __future__ import annotations

import json
from typing import Any


def to_sft_row(example: dict[str, Any]) -> dict[str, Any]:
    messages = []
    for message in example["messages"]:
        row = {"role": message["role"], "content": message.get("content") or ""}
        if message.get("tool_calls"):
            row["tool_calls"] = [
                {"type": "function", "function": {"name": c["function"]["name"],
                                                  "arguments": json.dumps(c["function"]["arguments"], ensure_ascii=False)}}
                for c in message["tool_calls"]
            ]
        messages.append(row)
    return {"messages": messages, "tools": json.dumps(example["tools"], ensure_ascii=False)}


def sft_dataset(examples: list[dict[str, Any]]):
    import datasets

    return datasets.Dataset.from_list([to_sft_row(e) for e in examples])
