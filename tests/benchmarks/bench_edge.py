"""Edge figures side by side in one run: each GGUF type of one model, and llama.cpp's thread count.

    .venv/bin/python tests/benchmarks/bench_edge.py [--model DIR] [--types f16 q8_0 q4_k_m] [--threads 1 2]
        [--requests 48] [--max-tokens 64] [--out FILE.json]

Exports the model (default: the embedded tiny model) with fcray's export (llama.cpp's converter and
quantizer), then serves each file with llama.cpp's server, one file and one thread setting at a time
(never two servers together: they would share the cores), and sends ``--requests`` validation prompts of
the tiny preset one at a time with ``ignore_eos`` (every reply ``--max-tokens`` long). Prints, per file
and thread count: size, load time, peak RSS, TTFT P50/P95/P99, llama.cpp's prefill and decode tokens/s,
and the ratios against the first type at the first thread count. Speed only: the eval of each file is
``fcray edge score``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    from fcray.config import load_config
    from fcray.data.pipeline import ensure_dataset, validation_examples
    from fcray.edge.gguf import export_gguf
    from fcray.edge.server import LlamaServer
    from fcray.eval.edge import measure
    from fcray.model.tiny import ensure_tiny_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model folder (default: the embedded tiny model)")
    parser.add_argument("--types", nargs="+", default=["f16", "q8_0", "q4_k_m"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--workdir", default=None, help="data and GGUF files (default: a temporary folder)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="fcray-bench-edge-"))
    config = load_config("tiny", overrides=[f"workdir={workdir}"])
    model = Path(args.model) if args.model else ensure_tiny_model(config.model.tiny)
    ensure_dataset(config.data, workdir)
    examples = validation_examples(workdir)[: args.requests + 1]  # +1: the warm-up request
    record = export_gguf(model, workdir / "gguf", args.types, name="bench", log=lambda *_: None)
    rows = []
    for threads in args.threads:
        for kind in args.types:
            edge = replace(config.edge, threads=threads, port=0)
            with LlamaServer(record["files"][kind]["path"], edge, "bench") as server:
                figures = measure(server, examples, args.max_tokens, extra_body={"ignore_eos": True})
            rows.append({"type": kind, **figures})
            print(json.dumps(rows[-1]), flush=True)
    base = rows[0]

    def ratio(row, key, sub=None):
        a, b = (row[key], base[key]) if sub is None else (row[key][sub], base[key][sub])
        return round(a / b, 3) if a and b else None

    print(f"\nratios against {base['type']} at {base['threads']} thread(s):")
    print("type     threads  MiB    size  RSS    TTFT P50  prefill tok/s  decode tok/s")
    for row in rows:
        print(f"{row['type']:8s} {row['threads']:7d}  {row['file_bytes'] / 2**20:5.1f}  {ratio(row, 'file_bytes'):5}  "
              f"{ratio(row, 'peak_rss_bytes'):5}  {ratio(row, 'ttft_ms', 'p50'):8}  "
              f"{row['prompt_tokens_per_s']:7.0f} ({ratio(row, 'prompt_tokens_per_s')})  "
              f"{row['generation_tokens_per_s']:6.0f} ({ratio(row, 'generation_tokens_per_s')})")
    if args.out:
        Path(args.out).write_text(json.dumps({"model": str(model), "requests": args.requests,
                                              "max_tokens": args.max_tokens, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
