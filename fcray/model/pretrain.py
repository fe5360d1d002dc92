"""Causal-LM pretraining of the embedded base on fcray's generated corpus (:mod:`fcray.synth.corpus`).

Plain next-token loss on fixed-length blocks of concatenated documents (each ends with ``<|endoftext|>``),
as language models are pretrained: no chat roles, no loss mask, no tool-call targets. One process, all
the machine's cores, a fixed seed: the same budget on the same machine gives the same weights.

The loop is a few lines of PyTorch on purpose: it is pretraining of a 4M-parameter model on one CPU
process, where a trainer framework's per-step overhead (and its data collation) would cost more than
the model's own step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

from fcray.config import TinyModelConfig
from fcray.synth.corpus import documents


def token_blocks(tokenizer: Any, seed: int, block_size: int, eos_id: int) -> Iterator[list[int]]:
    """Endless ``block_size``-token blocks of the corpus, documents separated by ``eos_id``."""
    buffer: list[int] = []
    start = 0
    while True:
        for text in documents(seed, 256, start):
            buffer.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
            buffer.append(eos_id)
            while len(buffer) >= block_size:
                yield buffer[:block_size]
                buffer = buffer[block_size:]
        start += 256


def pretrain(model: Any, tokenizer: Any, config: TinyModelConfig,
             log: Callable[[str], None] = lambda line: None,
             on_step: Callable[[int, float], None] = lambda step, loss: None) -> dict[str, Any]:
    """Train ``model`` in place for ``config.pretrain_tokens`` tokens; returns the record of the run
    (tokens seen, steps, seconds, loss curve). ``on_step(step, loss)`` runs after every optimizer step
    (probes measure the model there; one that calls ``model.eval()`` puts it back in ``train()``)."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    torch.manual_seed(config.seed)
    block, batch = config.pretrain_block_size, config.pretrain_batch_size
    steps = max(1, math.ceil(config.pretrain_tokens / (block * batch)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.pretrain_learning_rate, betas=(0.9, 0.95),
                                  weight_decay=0.1)
    schedule = get_cosine_schedule_with_warmup(optimizer, max(1, steps // 20), steps)
    blocks = token_blocks(tokenizer, config.seed, block, tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    model.train()
    curve, started, window = [], time.time(), []
    for step in range(1, steps + 1):
        input_ids = torch.tensor([next(blocks) for _ in range(batch)])
        loss = model(input_ids=input_ids, labels=input_ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        window.append(loss.item())
        on_step(step, window[-1])
        if step % 10 == 0 or step == steps:
            mean = sum(window) / len(window)
            curve.append({"step": step, "tokens": step * block * batch, "loss": round(mean, 4)})
            window = []
            log(f"pretrain step {step}/{steps}: loss {mean:.3f} ({time.time() - started:.0f} s)")
    model.eval()
    return {"tokens_seen": steps * block * batch, "steps": steps, "block_size": block, "batch_size": batch,
            "learning_rate": config.pretrain_learning_rate, "seconds": round(time.time() - started, 1),
            "final_loss": curve[-1]["loss"], "loss_curve": curve}
