"""Probe: does pretraining teach the tiny base to copy from its context? (run by hand; not collected by pytest)

    FCRAY_CACHE=/tmp/fcray-probe/cache .venv/bin/python tests/benchmarks/probe_pretrain_copy.py --name mix \
        --steps 600 --every 100 [--mix '{"repeat": 0.2, "recall": 0.25, ...}'] [--lr 3e-3] [--out DIR]

Filling a call's arguments is copying spans of the query, so a base that cannot copy cannot learn the task
from SFT (docs/results/2026-12-02-pretrain-copy-probe.md). This script pretrains the tiny model (random init
of fcray's shape and tokenizer) with fcray's own loop, ``fcray.model.pretrain.pretrain`` (batch 8 x 512
tokens, AdamW, cosine), on a mixture of fcray's corpus kinds (``fcray.synth.corpus.KINDS``, plus
``repeat``: a list of values then the same list again, the plainest copy task) and every ``--every`` steps measures, greedily, the share of
30 held-out documents per kind whose final value it reproduces exactly:

* ``extract``: "Sentence: ... The values it states: key: " -> the value stated in the sentence;
* ``recall``: "Record: {...} Q: What is the key? A: " -> the record's value;
* ``repeat``: "List: a, b, c The same list: " -> the whole list;
* ``lookup``: "Services: - <made-up name>: <description> ... Request: ... Handled by: " -> the made-up name
  of the entry whose (training) tool handles the request; ``lookup_held_out`` the same with a held-out tool
  (never in the corpus) as the request's; ``lookup_none`` a request whose tool is not listed -> "none of them".
  For recall and lookup kinds ``<kind>_other`` is the share of answers that are another of the document's
  entries (copied, from the wrong place), and for lookups of a listed tool ``<kind>_said_none`` the share
  answered "none of them"; ``--docs N`` sets the documents per kind (30).

and, teacher-forced, the token accuracy on the first and the repeated list of random text codes
(``tf_first`` / ``tf_second``) and on the repeats of random-token copy rows (``tokens_repeated``, as
``model.tiny.pretrain_copy_rows`` trains them; ``--shape '{"pretrain_copy_rows": 4}'`` turns them on).

``--rows key_value`` puts random-token associative-recall rows (:func:`key_value_rows`) where the copy rows
go, and ``kv_values`` is the teacher-forced accuracy on their answers. ``--init DIR`` goes on training a base
saved by ``--save``.

Prints one JSON line per measurement and writes them to ``<out>/<name>.jsonl``; ``--save DIR`` keeps the
pretrained model for ``probe_sft_recipe.py --set model.name_or_path=DIR``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path


def repeat(rng: random.Random) -> str:
    """A list of generic values, then the same list: every token of the second half is predictable only
    by copying (what an induction head does)."""
    from fcray.synth import corpus

    values = [corpus._value(rng) for _ in range(rng.randint(3, 12))]
    sep = rng.choice([", ", " ", "\n"])
    return "List: " + sep.join(values) + "\nThe same list: " + sep.join(values)


def codes(rng: random.Random) -> str:
    """A list of random codes (letters and digits, unpredictable), then the same list: the first half
    carries no signal a model can learn, the second half only the copy signal."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(3, 12))]
    return "List: " + " ".join(values) + "\nThe same list: " + " ".join(values)


def _one_lookup(rng: random.Random, target, distractors, answer: str | None) -> str:
    """A ``lookup`` document (fcray.synth.corpus's directory, as lines) with one request for ``target``
    (listed unless ``answer`` is given)."""
    from fcray.synth import corpus
    others = list({t.description: t for t in distractors if t.description != target.description}.values())
    listed = rng.sample(others, rng.randint(1, 3)) + ([target] if answer is None else [])
    rng.shuffle(listed)
    names = [corpus.made_up_name(rng) for _ in listed]
    lines = ["Services:", corpus.directory(listed, names, as_json=False),
             *corpus.request_lines(target, answer or names[listed.index(target)], rng)]
    return "\n".join(lines)


def lookup_held_out(rng: random.Random) -> str:
    """A directory with a held-out tool (never in the corpus) and training tools; the request is the
    held-out tool's: its made-up name must be found by reading its description."""
    from fcray.synth.corpus import HELD_OUT_TOOLS, TRAIN_TOOLS

    return _one_lookup(rng, rng.choice(HELD_OUT_TOOLS), list(TRAIN_TOOLS), None)


def lookup_none(rng: random.Random) -> str:
    """A request whose (training) tool is not in the directory: the answer is "none of them"."""
    from fcray.synth.corpus import TRAIN_TOOLS

    target = rng.choice(TRAIN_TOOLS)
    return _one_lookup(rng, target, [t for t in TRAIN_TOOLS if t is not target], "none of them")


def copy_gain(model, tokenizer, n: int = 40) -> dict[str, float]:
    """Teacher-forced token accuracy on the first and on the repeated list of ``codes`` documents (from each
    list's second token): the second above the first only if the model copies from its context, a more
    sensitive measure than greedy exact copy; and on the repeats of random-token copy rows."""
    import torch

    model.eval()
    first = second = 0.0
    for i in range(n):
        text = codes(random.Random(f"fcray-copy-gain:{i}"))
        head, marker, tail = text.rpartition("\nThe same list: ")
        a = tokenizer(head[len("List: "):], add_special_tokens=False).input_ids
        ids = tokenizer("List: ", add_special_tokens=False).input_ids
        start_a = len(ids)
        ids = ids + a + tokenizer(marker, add_special_tokens=False).input_ids
        start_b = len(ids)
        ids = ids + tokenizer(tail, add_special_tokens=False).input_ids
        with torch.no_grad():
            pred = model(torch.tensor([ids])).logits[0].argmax(-1)
        target = torch.tensor(ids)
        hit = (pred[:-1] == target[1:]).float()
        first += hit[start_a:start_a + len(a) - 1].mean().item()
        second += hit[start_b:len(ids) - 1].mean().item()
    # the same on random-token copy sequences (fcray.model.pretrain.copy_rows: a 32-token span repeated)
    import fcray.model.pretrain as fcray_pretrain
    from fcray.model.pretrain import COPY_REPEATS, COPY_SPAN, ordinary_ids

    copy_rows = REPLACED.get("copy_rows", fcray_pretrain.copy_rows)
    ids = copy_rows(ordinary_ids(tokenizer), 8, COPY_REPEATS * COPY_SPAN, torch.Generator().manual_seed(12345))
    with torch.no_grad():
        hit = (model(ids).logits.argmax(-1)[:, :-1] == ids[:, 1:]).float()
    model.train()
    return {"tf_first": round(first / n, 3), "tf_second": round(second / n, 3),
            "tokens_repeated": round(hit[:, COPY_SPAN:].mean().item(), 3)}


KV_PAIRS, KV_QUERIES, KV_GAP = 16, 24, 2
KV_SECTION = 2 * KV_PAIRS + KV_QUERIES * (KV_GAP + 2)  # tokens of one section: the pairs, then the queries
REPLACED: dict = {}  # fcray's functions that --rows replaced, for the probes that still measure them


def key_value_rows(ordinary, rows: int, length: int, generator):
    """Random-token associative recall, in place of ``copy_rows`` (``--rows key_value``): sections of
    KV_PAIRS ``key value`` pairs (distinct keys), then KV_QUERIES queries ``key <gap> value`` with KV_GAP fixed
    tokens between a key and its value. Predicting a query's value needs what recall in text needs: carry the
    key over the gap, find it among the pairs, copy the token after it (an induction head alone copies what
    follows the gap's last token, which every query shares)."""
    import torch

    count = -(-length // KV_SECTION)
    gap = ordinary[:KV_GAP]  # fixed tokens, the same in every query
    out = []
    for _ in range(rows * count):
        chosen = ordinary[torch.randperm(len(ordinary), generator=generator)[:2 * KV_PAIRS]]
        keys, values = chosen[:KV_PAIRS], chosen[KV_PAIRS:]
        asked = torch.randint(KV_PAIRS, (KV_QUERIES,), generator=generator)
        queries = torch.cat([keys[asked, None], gap.expand(KV_QUERIES, KV_GAP), values[asked, None]], dim=1)
        out.append(torch.cat([torch.stack([keys, values], dim=1).flatten(), queries.flatten()]))
    return torch.stack(out).reshape(rows, count * KV_SECTION)[:, :length]


def key_value_accuracy(model, tokenizer) -> dict[str, float]:
    """Teacher-forced accuracy on the values of :func:`key_value_rows`' queries (chance: 1 in KV_PAIRS if the
    model only knows a value is one of the section's)."""
    import torch

    from fcray.model.pretrain import ordinary_ids

    ids = key_value_rows(ordinary_ids(tokenizer), 4, 512, torch.Generator().manual_seed(54321))
    model.eval()
    with torch.no_grad():
        pred = model(ids).logits.argmax(-1)
    model.train()
    hits = total = 0
    for start in range(0, ids.shape[1] - KV_SECTION + 1, KV_SECTION):
        for q in range(KV_QUERIES):
            at = start + 2 * KV_PAIRS + q * (KV_GAP + 2) + KV_GAP + 1  # the value's position
            hits += (pred[:, at - 1] == ids[:, at]).sum().item()
            total += ids.shape[0]
    return {"kv_values": round(hits / total, 3)}


def split_prompt(kind: str, text: str) -> tuple[str, str]:
    """(prompt, expected continuation) of one probe document. The prompt stops at the colon: the space after
    it belongs to the answer's first token (" Paris", " to"), as the byte-level BPE splits the text, and a
    prompt ending in a bare " " token asks for a token sequence that training never shows (before
    2026-12-07 the prompts ended in ": ", which scored extract and recall near 0 whatever the model)."""
    if kind == "repeat":
        head, marker, tail = text.rpartition("The same list: ")
        return head + marker.rstrip(" "), " " + tail
    lines = text.split("\n")
    key, sep, value = lines[-1].rpartition(": ") if kind == "recall" else lines[-1].partition(": ")
    return "\n".join(lines[:-1]) + "\n" + key + sep.rstrip(" "), " " + value


def candidates(kind: str, text: str) -> set[str]:
    """The answers a ``recall`` or ``lookup*`` document offers: its record's values, or its directory's names.
    A wrong answer among them was copied from the document, only from the wrong place."""
    head = text.split("\nQ: ")[0] if kind == "recall" else text.split("\nRequest: ")[0]
    body = head.split("\n", 1)[1] if "\n" in head else ""
    if body.startswith("{") or body.startswith("["):
        parsed = json.loads(body)
        if kind == "recall":
            return {str(v) for v in parsed.values()}
        return {entry["name"] for entry in parsed}
    if kind == "recall":
        return {line.partition(": ")[2] for line in body.split("\n")}
    return {line[2:].partition(": ")[0] for line in body.split("\n")}


def copy_accuracy(model, tokenizer, makers: dict, n: int = 30) -> dict[str, float]:
    """Greedy exact answers per kind; for recall and lookup kinds also ``<kind>_other``: the share of answers
    that are another of the document's candidates (:func:`candidates`), so that picking one of them at random
    (about 1 in 3) is told apart from finding the right one; for lookup kinds ``<kind>_said_none``: the share
    answered "none of them" (wrongly, but where the document lists the request's tool)."""
    import torch

    model.eval()
    scores = {}
    for kind, maker in makers.items():
        hits = others = said_none = 0
        has_candidates = kind == "recall" or kind.startswith("lookup")
        for i in range(n):
            text = maker(random.Random(f"fcray-copy-probe:{i}"))
            prompt, want = split_prompt(kind, text)
            ids = tokenizer(prompt, return_tensors="pt").input_ids
            with torch.no_grad():
                out = model.generate(ids, max_new_tokens=48 if kind == "repeat" else 16, do_sample=False,
                                     pad_token_id=tokenizer.pad_token_id)
            got = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
            got = (got[: len(want)] if kind == "repeat" else got.split("\n")[0]).strip()
            hits += got == want.strip()
            if has_candidates:
                others += got != want.strip() and got in candidates(kind, text)
                said_none += got != want.strip() and got == "none of them"
        scores[kind] = hits / n
        if has_candidates:
            scores[f"{kind}_other"] = others / n
        if kind.startswith("lookup") and kind != "lookup_none":
            scores[f"{kind}_said_none"] = said_none / n
    model.train()
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--mix", default="{}", help="JSON {kind: weight}; default fcray's KINDS")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--shape", default="{}", help="JSON TinyModelConfig overrides (hidden_size, ...)")
    parser.add_argument("--out", default="/tmp/fcray-probe/copy")
    parser.add_argument("--docs", type=int, default=30, help="documents per probe kind at each measurement")
    parser.add_argument("--save", default="", help="folder to save the pretrained model in (for probe_sft_recipe)")
    parser.add_argument("--rows", default="copy", choices=("copy", "key_value"),
                        help="what model.tiny.pretrain_copy_rows' rows hold: fcray's copy rows, or key_value_rows")
    parser.add_argument("--init", default="", help="a folder saved by --save to go on training (its tokenizer "
                        "too; --shape then sets only the schedule, and its seed the corpus' documents)")
    args = parser.parse_args()

    import dataclasses

    import torch

    torch.set_num_threads(2)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fcray.config import TinyModelConfig
    from fcray.model.pretrain import pretrain
    from fcray.model.tiny import ensure_tiny_model
    from fcray.synth import corpus

    corpus.MAKERS["repeat"] = repeat
    corpus.MAKERS["codes"] = codes
    if args.rows == "key_value":  # fcray's loop calls pretrain.copy_rows: it gets these rows instead
        import fcray.model.pretrain

        REPLACED["copy_rows"] = fcray.model.pretrain.copy_rows
        fcray.model.pretrain.copy_rows = key_value_rows
    if json.loads(args.mix):
        corpus.KINDS.clear()
        corpus.KINDS.update(json.loads(args.mix))
    shape = TinyModelConfig(**{**json.loads(args.shape), "pretrain_tokens": 0})
    folder = args.init or ensure_tiny_model(shape)  # a saved base, or random init with fcray's tokenizer
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    makers = {"extract": corpus.extract, "recall": corpus.recall, "repeat": repeat,
              "lookup": lambda rng: _one_lookup(rng, rng.choice(corpus.TRAIN_TOOLS), list(corpus.TRAIN_TOOLS), None),
              "lookup_held_out": lookup_held_out, "lookup_none": lookup_none}
    tokens_per_step = shape.pretrain_block_size * shape.pretrain_batch_size
    config = dataclasses.replace(shape, pretrain_tokens=args.steps * tokens_per_step,
                                 pretrain_learning_rate=args.lr)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = (out / f"{args.name}.jsonl").open("w")
    started, window = time.time(), []

    def measure(step: int, loss: float) -> None:
        window.append(loss)
        if step % args.every == 0 or step == args.steps:
            line = {"name": args.name, "mix": dict(corpus.KINDS), "lr": args.lr, "step": step,
                    "tokens": step * tokens_per_step, "loss": round(sum(window) / len(window), 3),
                    "seconds": round(time.time() - started), **copy_accuracy(model, tokenizer, makers, args.docs),
                    **copy_gain(model, tokenizer), **key_value_accuracy(model, tokenizer)}
            window.clear()
            print(json.dumps(line), flush=True)
            log.write(json.dumps(line) + "\n")
            log.flush()

    record = pretrain(model, tokenizer, config, log=lambda line: print(line, flush=True) if "copy" in line else None,
                      on_step=measure)
    if args.save:
        model.save_pretrained(args.save)
        tokenizer.save_pretrained(args.save)
        Path(args.save, "pretraining.json").write_text(json.dumps(record, indent=1) + "\n")

if __name__ == "__main__":
    main()
