"""Probe: the SFT learning curve of a model on fcray's data, teacher-forced, every few steps (run by hand; not
collected by pytest).

    .venv/bin/python tests/benchmarks/probe_sft_learning_curve.py --model <model folder> \
        --data <workdir>/data/train.jsonl --val <workdir>/data/validation.jsonl \
        [--steps 600] [--every 100] [--lr 2e-3] [--batch 8] [--no-tools] [--save DIR] [--out curve.json]

A plain PyTorch loop (AdamW, cosine schedule, gradient clipped to 1, loss on the last assistant turn only,
batches of similar length) over fcray's rendered training rows, in one process on both cores. Every
``--every`` steps it scores, teacher-forced on held-out single-call examples (the first 160):

* ``name_seen`` / ``name_held_out``: the first token of the function name right, for tools seen in
  training and for held-out tools (these must be read from the offered schemas);
* ``answer_tokens``: every answer token right (the call's frame, names and values);
* ``value_tokens``: the tokens inside the arguments' values right (copied from the request, or not).

Teacher-forced accuracy costs one forward pass per example, so a curve costs seconds per point where a
greedy eval costs minutes: it shows *when* a skill appears. ``--no-tools`` drops the tool schemas from every
prompt (a short-context control: names from the request alone, no held-out tools). ``--save`` keeps the
trained model (score it greedily with fcray's judge, as probe_sft_recipe.py does).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model folder (e.g. the embedded tiny model's)")
    parser.add_argument("--data", required=True, help="canonical train.jsonl")
    parser.add_argument("--val", required=True, help="canonical validation.jsonl")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--no-tools", action="store_true", help="drop the tool schemas from every prompt")
    parser.add_argument("--save", help="save the trained model here")
    parser.add_argument("--out", help="write the curve here as JSON")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fcray.data.export import render_prompt, render_text

    torch.set_num_threads(2)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)

    def load(path: str) -> list[dict]:
        rows = [json.loads(line) for line in open(path)]
        for row in rows if args.no_tools else ():
            row["tools"] = []
        return rows

    def encode(example: dict) -> tuple[list[int], int, str, list[tuple[int, int]]]:
        """Token ids, prompt length, the text and each token's character span."""
        text, prompt = render_text(example, tokenizer), render_prompt(example, tokenizer)
        assert text.startswith(prompt), example["id"]
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        n_prompt = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        assert encoded["input_ids"][:n_prompt] == tokenizer(prompt, add_special_tokens=False)["input_ids"]
        return encoded["input_ids"], n_prompt, text, encoded["offset_mapping"]

    train = [encode(e)[:2] for e in load(args.data)]
    held = [e for e in load(args.val) if len(e["messages"]) == 2 and e["messages"][-1].get("tool_calls")][:160]

    def marks(example: dict) -> tuple[list[int], int, int, set[int], bool]:
        """(ids, prompt length, index of the name's first token, indexes of value tokens, held-out tool)."""
        ids, n_prompt, text, offsets = encode(example)
        call = example["messages"][-1]["tool_calls"][0]["function"]
        start = text.index('{"name": "', len(render_prompt(example, tokenizer))) + len('{"name": "')
        spans, cursor = [], text.index('"arguments": ', start)
        for key, value in call["arguments"].items():
            begin = text.index(json.dumps(key) + ": ", cursor) + len(json.dumps(key)) + 2
            spans.append((begin, begin + len(json.dumps(value, ensure_ascii=False))))

        def overlaps(i: int, span: tuple[int, int]) -> bool:
            return offsets[i][0] < span[1] and offsets[i][1] > span[0]

        name = next(i for i in range(n_prompt, len(ids)) if overlaps(i, (start, start + len(call["name"]))))
        values = {i for i in range(n_prompt, len(ids)) if any(overlaps(i, s) for s in spans)
                  and any(c.isalnum() for c in text[offsets[i][0]:offsets[i][1]])}
        return ids, n_prompt, name, values, bool(example.get("meta", {}).get("holdout"))

    probes = [marks(e) for e in held]
    print(f"{len(train)} training rows; {len(probes)} held-out single-call examples "
          f"({sum(p[4] for p in probes)} on held-out tools)", flush=True)

    @torch.no_grad()
    def score() -> dict[str, float]:
        model.eval()
        names: dict[bool, list[int]] = {False: [], True: []}
        answer, values = [], []
        for ids, n_prompt, name, value_ids, held_out in probes:
            predicted = model(torch.tensor([ids])).logits[0].argmax(-1)
            for i in range(n_prompt, len(ids)):
                right = int(predicted[i - 1].item() == ids[i])
                answer.append(right)
                if i == name:
                    names[held_out].append(right)
                if i in value_ids:
                    values.append(right)
        model.train()

        def mean(v: list[int]) -> float:
            return round(sum(v) / len(v), 3) if v else float("nan")

        return {"name_seen": mean(names[False]), "name_held_out": mean(names[True]),
                "answer_tokens": mean(answer), "value_tokens": mean(values)}

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, betas=(0.9, 0.95))
    warmup = max(1, args.steps // 30)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (
        1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    rng, queue, pad = random.Random(0), [], tokenizer.pad_token_id
    started, tokens, curve = time.time(), 0, [{"step": 0, "seconds": 0, **score()}]
    for step in range(1, args.steps + 1):
        if len(queue) < args.batch * 16:
            order = list(range(len(train)))
            rng.shuffle(order)
            queue += order
        window, queue = sorted(queue[:args.batch * 16], key=lambda i: len(train[i][0])), queue[args.batch * 16:]
        batch, queue = window[:args.batch], window[args.batch:] + queue  # similar lengths, less padding
        width = max(len(train[i][0]) for i in batch)
        input_ids = torch.full((len(batch), width), pad)
        labels = torch.full((len(batch), width), -100)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            ids, n_prompt = train[i]
            input_ids[row, :len(ids)] = torch.tensor(ids)
            attention[row, :len(ids)] = 1
            labels[row, n_prompt:len(ids)] = torch.tensor(ids[n_prompt:])
        tokens += int(attention.sum())
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % args.every == 0 or step == args.steps:
            curve.append({"step": step, "seconds": round(time.time() - started), "loss": round(loss.item(), 3),
                          "tokens_per_s": round(tokens / (time.time() - started)), **score()})
            print(json.dumps(curve[-1]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "curve": curve}, indent=1) + "\n")
    if args.save:
        model.save_pretrained(args.save)
        tokenizer.save_pretrained(args.save)


if __name__ == "__main__":
    main()
