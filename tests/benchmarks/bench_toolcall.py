"""Benchmark: how fast fcray scores completions (run by hand; not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_toolcall.py

Pinned to one core, it prints:
  (a) the full score of a completion (parse + schema + execute + result + match, via ``judge``) in completions/s on a
      mixed set: valid single and parallel calls, invalid JSON, wrong types, wrong values, no-call answers;
      target >= 10,000/s;
  (b) the match step alone on already-decoded outputs, against BFCL's ``ast_checker`` on the same inputs
      (BFCL entries and perturbations), and their ratio; target >= 1.0.
"""

from __future__ import annotations

import json
import os
import platform
import random
import time


def _best_rate(fn, items, repeats=5):
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = max(best, len(items) / (time.perf_counter() - start))
    return best


def mixed_completions(n: int = 4000):
    from fcray.config import AugmentConfig
    from fcray.data.augment import augment_split
    from fcray.synth.generator import generate_examples

    rng = random.Random(0)
    examples = generate_examples(600, seed=1)
    added, _ = augment_split(examples, AugmentConfig(irrelevance_ratio=0.2, slot_filling_ratio=0.2), "bench")
    examples += added
    cases = []
    for i in range(n):
        ex = rng.choice(examples)
        calls = [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                 for c in ex["messages"][-1].get("tool_calls") or []]
        kind = i % 5
        if not calls or kind == 0:
            text = ex["messages"][-1].get("content") or "No call."
        else:
            calls = json.loads(json.dumps(calls))
            if kind == 2:   # wrong type
                arg = next(iter(calls[0]["arguments"]), None)
                if arg:
                    calls[0]["arguments"][arg] = [calls[0]["arguments"][arg]]
            if kind == 3:   # wrong value
                arg = next(iter(calls[0]["arguments"]), None)
                if arg:
                    calls[0]["arguments"][arg] = "something else"
            text = "\n".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in calls)
            if kind == 4:   # invalid JSON
                text = text[:-20]
        cases.append((text, ex))
    return cases


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from fcray.toolcall import bfcl
    from fcray.toolcall.match import match_calls
    from fcray.toolcall.parse import Call
    from fcray.toolcall.reward import judge

    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, 1 core; python {platform.python_version()}")
    cases = mixed_completions()
    for text, ex in cases[:50]:
        judge(text, ex)  # warm caches (validators, tool indexes)
    full = _best_rate(lambda c: judge(c[0], c[1]), cases)
    print(f"(a) full score (parse+schema+execute+result+match+metrics): {full:,.0f} completions/s "
          f"on {len(cases)} mixed completions of {len({id(e) for _, e in cases})} examples, as in GRPO (several completions per example)  "
          f"[target >= 10,000/s: {'PASS' if full >= 10_000 else 'FAIL'}]")
    import copy

    cold_cases = [(text, copy.deepcopy(ex)) for text, ex in cases]  # fresh objects: per-example caches miss
    start = time.perf_counter()
    for text, ex in cold_cases:
        judge(text, ex)
    cold = len(cold_cases) / (time.perf_counter() - start)
    print(f"    the same with every example a new object (evaluation: one completion per example): {cold:,.0f}/s")

    if not bfcl.bfcl_available():
        print("(b) skipped: " + bfcl.INSTALL_HINT)
        return
    ast_checker, Language, _, _ = bfcl._bfcl()
    rng = random.Random(0)
    ours, theirs = [], []
    for category in bfcl.AST_CATEGORIES:
        for entry, answer in bfcl.load_category(category):
            example = bfcl.to_example(entry, answer, category)
            params = {t["function"]["name"]: t["function"]["parameters"] for t in example["tools"]}
            for _, calls in bfcl.perturbations(bfcl.first_answer(example), example["tools"], rng):
                decoded = json.loads(json.dumps(calls))
                ours.append(([Call(c["name"], c["arguments"]) for c in decoded], example["ground_truth"]["calls"], params))
                theirs.append((entry["function"], [{c["name"]: c["arguments"]} for c in decoded], answer["ground_truth"],
                               category))
    fcray_rate = _best_rate(lambda x: match_calls(*x), ours, repeats=3)
    bfcl_rate = _best_rate(lambda x: ast_checker(x[0], x[1], x[2], Language.PYTHON, x[3], bfcl.BFCL_MODEL_NAME),
                           theirs, repeats=3)
    print(f"(b) match alone on {len(ours)} decoded BFCL outputs: fcray {fcray_rate:,.0f}/s, "
          f"BFCL ast_checker {bfcl_rate:,.0f}/s, ratio {fcray_rate / bfcl_rate:.2f}  "
          f"[target >= 1.0: {'PASS' if fcray_rate >= bfcl_rate else 'FAIL'}]")


if __name__ == "__main__":
    main()
