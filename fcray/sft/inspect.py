"""See what SFT learns: one training example with its loss mask, and the loss curve of a run.

:func:`loss_mask` tokenizes an example exactly as TRL's SFTTrainer does for assistant-only loss (its Qwen3
training template with ``{% generation %}`` markers, ``return_assistant_tokens_mask``) and
:func:`format_loss_mask` prints it with the learned tokens in ``[[…]]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def loss_mask(example: dict[str, Any], tokenizer: Any, assistant_only_loss: bool = True) -> tuple[list[int], list[int]]:
    """(token ids, mask): mask is 1 where the token is in the loss."""
    from trl.chat_template_utils import get_training_chat_template

    from fcray.sft.dataset import to_sft_row

    row = to_sft_row(example)
    template = get_training_chat_template(tokenizer) if assistant_only_loss else None
    out = tokenizer.apply_chat_template(row["messages"], tools=json.loads(row["tools"]), chat_template=template,
                                        tokenize=True, return_dict=True,
                                        return_assistant_tokens_mask=assistant_only_loss)
    ids = list(out["input_ids"])
    mask = list(out["assistant_masks"]) if assistant_only_loss else [1] * len(ids)
    return ids, mask


def format_loss_mask(ids: list[int], mask: list[int], tokenizer: Any) -> str:
    """The decoded example; learned spans wrapped in [[ ]]."""
    parts, current, learned = [], [], None
    for token, bit in zip(ids, mask):
        if learned is not None and bool(bit) != learned:
            parts.append((learned, current))
            current = []
        learned = bool(bit)
        current.append(token)
    if current:
        parts.append((learned, current))
    text = "".join(f"[[{tokenizer.decode(t)}]]" if on else tokenizer.decode(t) for on, t in parts)
    n = sum(mask)
    return f"{text}\n-- {n} of {len(ids)} tokens in the loss ([[...]] = learned)"


def write_loss_curve(run_dir: str | Path) -> Path | None:
    """``loss.png`` (training loss and token accuracy against step) from the run's ``metrics.jsonl``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return None
    records = [r for r in map(json.loads, path.read_text().splitlines()) if r.get("kind") == "step" and "loss" in r]
    if not records:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    lines = ax.plot([r["step"] for r in records], [r["loss"] for r in records], label="loss", color="tab:blue")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if any("mean_token_accuracy" in r for r in records):
        acc = ax.twinx()
        lines += acc.plot([r["step"] for r in records], [r.get("mean_token_accuracy") for r in records],
                          color="tab:orange", label="token accuracy")
        acc.set_ylabel("token accuracy")
    ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    ax.set_title(f"SFT {run_dir.name}")
    fig.tight_layout()
    out = run_dir / "loss.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
