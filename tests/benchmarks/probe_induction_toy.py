"""Probe: can the tiny model's shape form an induction circuit at all? (run by hand; not collected by pytest)

    .venv/bin/python tests/benchmarks/probe_induction_toy.py '{"steps": 300, "lr": 1e-3, "wd": 0.0, "v": 200}'

A sanity check for docs/results/2026-12-03-copy-rows.md: a freshly initialised Qwen3 model of the tiny
preset's shape (4 layers x 256, 4 query / 2 kv heads, head_dim 64, MLP 768, tied embeddings; any
Qwen3Config field can be overridden in the JSON) trained on nothing but ``len`` random token ids (drawn from
``v`` ids) repeated 4 times, batch ``batch``, AdamW (betas 0.9/0.95, no clipping, constant rate). Every 50
steps it prints the loss and the teacher-forced accuracy on the first span (chance) and on the repeats (1.0
once the model copies).
"""

import json
import sys
import time

import torch

torch.set_num_threads(2)
torch.manual_seed(0)
from transformers import Qwen3Config, Qwen3ForCausalLM  # noqa: E402

options = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
lr, wd = options.pop("lr", 1e-3), options.pop("wd", 0.0)
steps, span, batch, ids = options.pop("steps", 400), options.pop("len", 32), options.pop("batch", 16), options.pop("v", 200)
shape = dict(vocab_size=4096, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
             head_dim=64, intermediate_size=768, max_position_embeddings=2048, tie_word_embeddings=True, **options)
model = Qwen3ForCausalLM(Qwen3Config(**shape))
optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=wd)
started = time.time()
for step in range(1, steps + 1):
    tokens = torch.randint(10, 10 + ids, (batch, span)).repeat(1, 4)
    out = model(input_ids=tokens, labels=tokens)
    out.loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if step % 50 == 0:
        hit = (out.logits.argmax(-1)[:, :-1] == tokens[:, 1:]).float()
        print(json.dumps({"step": step, "loss": round(out.loss.item(), 3), "first_span": round(hit[:, :span - 1].mean().item(), 3),
                          "repeats": round(hit[:, span:].mean().item(), 3), "seconds": round(time.time() - started)}),
              flush=True)
