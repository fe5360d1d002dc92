"""Probe: greedy scores of a saved probe model (probe_sft_learning_curve.py --save) with fcray's judge, split by
seen and held-out tools (run by hand; not collected by pytest).

    .venv/bin/python tests/benchmarks/probe_greedy_eval.py --model DIR --workdir <workdir with data/> \
        [--examples 160] [--batch 32] [--no-tools] [--out F.json]

The first ``--examples`` validation examples are generated greedily (Hugging Face generate, 96 new tokens) and
scored by ``fcray.eval.metrics.evaluate_completions`` — the checks the report and GRPO's rewards use.
``--no-tools`` renders the prompts without tool schemas (for a model trained that way) and still scores
against the full examples. Prints the report's metrics and, for call examples, exact match, name accuracy and
argument F1 on seen and on held-out tools.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--workdir", required=True, help="the workdir whose data/validation.jsonl to score")
    parser.add_argument("--examples", type=int, default=160)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--no-tools", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fcray.data.pipeline import validation_examples
    from fcray.eval.generate import generate_with
    from fcray.eval.metrics import evaluate_completions

    torch.set_num_threads(2)
    tokenizer = AutoTokenizer.from_pretrained(args.model, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    examples = validation_examples(args.workdir)[:args.examples]
    shown = [dict(copy.deepcopy(e), tools=[]) for e in examples] if args.no_tools else examples
    started = time.time()
    completions = generate_with(model, tokenizer, shown, max_new_tokens=96, batch_size=args.batch)
    verdicts, summary = evaluate_completions(completions, examples)

    def split(held_out: bool) -> dict[str, list[float | int]]:
        rows = [v for v, e in zip(verdicts, examples)
                if e["ground_truth"]["kind"] == "call" and bool(e.get("meta", {}).get("holdout")) == held_out]
        return {name: [round(sum(float(v.get(key) or 0) for v in rows) / len(rows), 3) if rows else None, len(rows)]
                for name, key in (("exact_match", "match"), ("name_accuracy", "name_correct"), ("args_f1", "args_f1"))}

    record = {"model": args.model, "examples": len(examples), "no_tools": args.no_tools,
              "seconds": round(time.time() - started),
              "metrics": {k: [None if v.get("mean") is None else round(v["mean"], 3), v["n"]]
                          for k, v in summary["metrics"].items()},
              "by_category": {c: {k: [None if v.get("mean") is None else round(v["mean"], 3), v["n"]]
                                  for k, v in m.items()} for c, m in summary["by_category"].items()},
              "seen_tools": split(False), "held_out_tools": split(True),
              "samples": [{"query": e["messages"][0]["content"][:120], "completion": c[:240]}
                          for e, c in list(zip(examples, completions))[:6]]}
    print(json.dumps(record, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
