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


COPY_BATCH, COPY_SPAN, COPY_REPEATS = 16, 32, 4


def ordinary_ids(tokenizer: Any) -> Any:
    """Token ids of the learned vocabulary: the added ones (<|im_start|>, <tool_call>, ...) keep their meaning
    for the chat template and never appear in random copy sequences."""
    import torch

    return torch.tensor(sorted(set(range(len(tokenizer))) - set(tokenizer.added_tokens_decoder)))


def copy_rows(ordinary: Any, rows: int, length: int, generator: Any) -> Any:
    """``rows`` sequences of ``length`` tokens made of segments: a span of COPY_SPAN random ordinary tokens
    repeated COPY_REPEATS times, then the next segment with a new span."""
    import torch

    segment = COPY_SPAN * COPY_REPEATS
    count = -(-length // segment)
    spans = ordinary[torch.randint(len(ordinary), (rows * count, COPY_SPAN), generator=generator)]
    return spans.repeat(1, COPY_REPEATS).reshape(rows, count * segment)[:, :length]


def _adamw(model: Any, config: TinyModelConfig) -> Any:
    import torch

    return torch.optim.AdamW(model.parameters(), lr=config.pretrain_learning_rate, betas=(0.9, 0.95),
                             weight_decay=0.1)


def _update(model: Any, loss: Any, optimizer: Any, schedule: Any = None) -> None:
    """One optimizer step on ``loss`` with the gradient clipped to norm 1."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if schedule is not None:
        schedule.step()
    optimizer.zero_grad(set_to_none=True)


def copy_warmup(model: Any, tokenizer: Any, config: TinyModelConfig,
                log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """``config.pretrain_copy_steps`` steps on sequences of 32 random tokens repeated 4 times.

    Every token after the first span is predictable only by finding its earlier occurrence and copying
    the token that followed it, so the only way down the loss is an induction circuit (a previous-token
    head feeding a matching head), which a base trained on fcray's corpus alone (5M tokens) did not grow.
    Measured (docs/results/2026-12-03-copy-rows.md): 300 steps reach 0.24 of the repeats (0.44 without
    gradient clipping), and corpus-only steps afterwards unlearn it, so pair it with ``pretrain_copy_rows``.
    Returns the record (steps, seconds, loss and copy accuracy of the last step)."""
    import torch

    generator = torch.Generator().manual_seed(config.seed)
    ordinary = ordinary_ids(tokenizer)
    optimizer = _adamw(model, config)
    model.train()
    started, loss, copied = time.time(), float("nan"), 0.0
    for step in range(1, config.pretrain_copy_steps + 1):
        input_ids = copy_rows(ordinary, COPY_BATCH, COPY_SPAN * COPY_REPEATS, generator)
        out = model(input_ids=input_ids, labels=input_ids)
        _update(model, out.loss, optimizer)
        if step % 10 == 0 or step == config.pretrain_copy_steps:  # accuracy only where it is logged
            loss = out.loss.item()
            hits = out.logits.detach().argmax(-1)[:, COPY_SPAN - 1:-1] == input_ids[:, COPY_SPAN:]
            copied = hits.float().mean().item()
            log(f"copy warm-up step {step}/{config.pretrain_copy_steps}: loss {loss:.3f}, "
                f"repeated tokens predicted {copied:.2f} ({time.time() - started:.0f} s)")
    return {"steps": config.pretrain_copy_steps, "seconds": round(time.time() - started, 1),
            "final_loss": round(loss, 4), "repeated_token_accuracy": round(copied, 4)}


def pretrain(model: Any, tokenizer: Any, config: TinyModelConfig,
             log: Callable[[str], None] = lambda line: None,
             on_step: Callable[[int, float], None] = lambda step, loss: None) -> dict[str, Any]:
    """Train ``model`` in place for ``config.pretrain_tokens`` tokens; returns the record of the run
    (tokens seen, steps, seconds, loss curve). ``on_step(step, loss)`` runs after every optimizer step
    (probes measure the model there; one that calls ``model.eval()`` puts it back in ``train()``)."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    torch.manual_seed(config.seed)
    warmup = copy_warmup(model, tokenizer, config, log) if config.pretrain_copy_steps else None
    block, batch = config.pretrain_block_size, config.pretrain_batch_size
    steps = max(1, math.ceil(config.pretrain_tokens / (block * batch)))
    optimizer = _adamw(model, config)
    schedule = get_cosine_schedule_with_warmup(optimizer, max(1, steps // 20), steps)
    blocks = token_blocks(tokenizer, config.seed, block, tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    copy_generator, ordinary = torch.Generator().manual_seed(config.seed + 1), ordinary_ids(tokenizer)
    corpus_rows = batch - config.pretrain_copy_rows
    model.train()
    curve, started, window = [], time.time(), []
    for step in range(1, steps + 1):
        input_ids = torch.tensor([next(blocks) for _ in range(corpus_rows)])
        if config.pretrain_copy_rows:  # keep the copy circuit in use while the corpus reshapes the model
            input_ids = torch.cat([input_ids, copy_rows(ordinary, config.pretrain_copy_rows, block, copy_generator)])
        logits = model(input_ids=input_ids).logits[:, :-1]
        per_token = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), input_ids[:, 1:].flatten(),
                                                      reduction="none").view(batch, -1)
        _update(model, per_token.mean(), optimizer, schedule)  # every row's loss, as labels=input_ids gives
        # the curve reports the corpus rows' loss: the copy rows' falls to ~0 once the circuit forms
        window.append(per_token[:corpus_rows].mean().item())
        on_step(step, window[-1])
        if step % 10 == 0 or step == steps:
            mean = sum(window) / len(window)
            point = {"step": step, "tokens": step * block * batch, "loss": round(mean, 4)}
            if config.pretrain_copy_rows:
                point["copy_loss"] = round(per_token[corpus_rows:].mean().item(), 4)
            curve.append(point)
            window = []
            log(f"pretrain step {step}/{steps}: loss {mean:.3f} ({time.time() - started:.0f} s)")
    model.eval()
    return {"tokens_seen": steps * block * batch, "corpus_tokens_seen": steps * block * corpus_rows,
            "copy_rows": config.pretrain_copy_rows, "steps": steps, "block_size": block, "batch_size": batch,
            "learning_rate": config.pretrain_learning_rate, "seconds": round(time.time() - started, 1),
            "final_loss": curve[-1]["loss"], "loss_curve": curve, "copy_warmup": warmup}
