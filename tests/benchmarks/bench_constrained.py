"""Constrained decoding of tool calls, measured side by side in one run: each model free, constrained and
constrained with a call required, on vLLM and on llama.cpp.

    .venv/bin/python tests/benchmarks/bench_constrained.py --workdir fcray_runs \\
        --model A=<folder> --model B=fcray_runs/runs/sft-tiny/model --model C=fcray_runs/runs/grpo-tiny/model \\
        [--max-examples 200] [--runtimes vllm llamacpp] [--out FILE.json]

Every cell is fcray's eval (the same checks as the report) on the same seeded sample of ``<workdir>``'s
validation split, greedy, ``eval.max_new_tokens`` of the tiny preset unless ``--max-new-tokens``:

* ``vllm``: one vLLM engine per model (fcray's engine actor), the three modes one after another on it;
* ``llamacpp``: the model exported to GGUF Q8_0 with fcray's export, llama.cpp's server (1 thread), fcray's
  prompt on the completion endpoint (``eval.endpoint_api=completions``), so "free" is the quantized model
  itself, without llama.cpp's chat-side tool handling.

Prints one row per cell (parse, schema, name accuracy, exact match, irrelevance, answers cut at the token
budget, generated tokens/s) and the constrained/free ratios; ``--out`` writes them as JSON. One cell runs at
a time (2 cores: nothing else may run beside it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

MODES = {
    "free": {},
    "constrained": {"constrained": True},
    "forced": {"constrained": True, "require_call": True},
}
METRICS = ("parse_rate", "schema_rate", "name_accuracy", "exact_match", "args_f1", "irrelevance_accuracy",
           "mean_reward")


def cell(model: str, label: str, runtime: str, mode: str, examples, eval_config, backend, out: Path, tokenizer):
    from fcray.config import DecodingConfig
    from fcray.eval.run import load_predictions, run_eval

    decoding = DecodingConfig(**MODES[mode])
    backend.decoding = decoding
    folder = out / f"{label}-{runtime}-{mode}"
    shutil.rmtree(folder, ignore_errors=True)  # timed: everything generated in this run
    start = time.perf_counter()
    results = run_eval(model, examples, eval_config, folder, backend=backend, decoding=decoding, log=lambda *_: None)
    seconds = time.perf_counter() - start
    rows = load_predictions(folder)
    tokens = sum(len(tokenizer(r["completion"], add_special_tokens=False)["input_ids"]) for r in rows)
    cut = sum(r.get("finish_reason") == "length" for r in rows)
    return {"model": label, "runtime": runtime, "mode": mode, "examples": len(rows), "seconds": round(seconds, 2),
            "generated_tokens": tokens, "tokens_per_s": round(tokens / seconds, 1), "cut_at_budget": cut / len(rows),
            **{m: (results["metrics"].get(m) or {}).get("mean") for m in METRICS}}


def main() -> int:
    from transformers import AutoTokenizer

    from fcray.config import load_config
    from fcray.data.pipeline import validation_examples
    from fcray.eval.run import sample_examples

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", required=True, help="a run folder with data/ (the validation split)")
    parser.add_argument("--model", action="append", required=True, metavar="LABEL=FOLDER")
    parser.add_argument("--runtimes", nargs="+", default=["vllm", "llamacpp"])
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args()

    workdir = Path(args.workdir)
    overrides = [f"workdir={workdir}", f"eval.max_examples={args.max_examples}"]
    if args.max_new_tokens:
        overrides.append(f"eval.max_new_tokens={args.max_new_tokens}")
    config = load_config("tiny", overrides=overrides)
    examples = sample_examples(validation_examples(workdir), config.eval)
    out = workdir / "bench" / "constrained"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for spec in args.model:
        label, folder = spec.split("=", 1)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        for runtime in args.runtimes:
            eval_config, backend, stop = backend_for(runtime, folder, label, config, out)
            try:
                backend.generate(examples[:2])  # warm-up, untimed (first requests pay for lazy setup)
                for mode in args.modes:
                    rows.append(cell(label if runtime == "llamacpp" else folder, label, runtime, mode,
                                     examples, eval_config, backend, out, tokenizer))
                    print(json.dumps(rows[-1]), flush=True)
            finally:
                stop()
    print_table(rows)
    if args.out:
        Path(args.out).write_text(json.dumps({"config": {"max_examples": args.max_examples,
                                                         "max_new_tokens": config.eval.max_new_tokens,
                                                         "decoding": dataclasses.asdict(config.decoding)},
                                              "rows": rows}, indent=1) + "\n")
    return 0


def backend_for(runtime: str, folder: str, label: str, config, out: Path):
    """(eval config, backend, stop) for one model on one runtime."""
    if runtime == "vllm":
        from fcray.eval.backends import VLLMBackend

        eval_config = replace(config.eval, backend="vllm")
        backend = VLLMBackend(folder, eval_config)
        return eval_config, backend, backend.close
    from fcray.edge.gguf import export_gguf
    from fcray.edge.server import LlamaServer
    from fcray.eval.backends import EndpointBackend

    record = export_gguf(folder, out / "gguf" / label, ("f16", "q8_0"), name=label, log=lambda *_: None)
    server = LlamaServer(record["files"]["q8_0"]["path"], replace(config.edge, port=0), label)
    server.start()
    eval_config = replace(config.eval, backend="endpoint", endpoint=server.url, endpoint_api="completions",
                          tokenizer=folder, concurrency=1)
    backend = EndpointBackend(label, eval_config)

    def stop():
        backend.close()
        server.stop()
    return eval_config, backend, stop


def print_table(rows: list[dict]) -> None:
    keys = ("parse_rate", "schema_rate", "name_accuracy", "exact_match", "irrelevance_accuracy", "cut_at_budget",
            "tokens_per_s")
    print(f"\n{'model':<6}{'runtime':<10}{'mode':<13}" + "".join(f"{k[:14]:>15}" for k in keys))
    for row in rows:
        print(f"{row['model']:<6}{row['runtime']:<10}{row['mode']:<13}"
              + "".join(f"{'-' if row[k] is None else round(row[k], 3):>15}" for k in keys))
    free = {(r["model"], r["runtime"]): r for r in rows if r["mode"] == "free"}
    print("\ntokens/s constrained / free:")
    for row in rows:
        base = free.get((row["model"], row["runtime"]))
        if row["mode"] != "free" and base and base["tokens_per_s"]:
            print(f"  {row['model']} {row['runtime']} {row['mode']}: {row['tokens_per_s'] / base['tokens_per_s']:.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
