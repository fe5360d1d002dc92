from __future__ import annotations

import json

from fcray.sft.inspect import format_loss_mask, loss_mask, write_loss_curve


def test_loss_mask_covers_assistant_turns_only(tiny_tokenizer, synthetic_examples):
    example = next(e for e in synthetic_examples if e["category"] == "parallel")
    ids, mask = loss_mask(example, tiny_tokenizer)
    learned = tiny_tokenizer.decode([t for t, m in zip(ids, mask) if m])
    ignored = tiny_tokenizer.decode([t for t, m in zip(ids, mask) if not m])
    call = example["messages"][-1]["tool_calls"][0]["function"]["name"]
    assert learned.startswith("<think>\n\n</think>\n\n<tool_call>\n") and learned.endswith("</tool_call><|im_end|>\n")
    assert call in learned and example["messages"][0]["content"] in ignored and "# Tools" in ignored
    text = format_loss_mask(ids, mask, tiny_tokenizer)
    assert "[[<think>" in text and f"-- {sum(mask)} of {len(ids)} tokens in the loss" in text
    full_ids, full_mask = loss_mask(example, tiny_tokenizer, assistant_only_loss=False)
    assert all(full_mask) and len(full_ids) > len([m for m in mask if m])


def test_loss_curve_png(tmp_path):
    records = [{"kind": "step", "step": i, "loss": 3.0 / i, "mean_token_accuracy": 0.1 * i} for i in range(1, 6)]
    records.append({"kind": "summary", "step": 5, "train_runtime": 1.0})
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    out = write_loss_curve(tmp_path)
    assert out == tmp_path / "loss.png" and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert write_loss_curve(tmp_path / "missing") is None
