"""Ray Serve overhead: the same load against fcray's Ray Serve LLM app and against a bare vLLM OpenAI server
of the same model and engine settings, side by side in one run; prints TTFT P50/P95 and tokens/s ratios.

    .venv/bin/python tests/benchmarks/bench_serve_overhead.py [--model DIR] [--concurrency 1 4] [--prompt 256]

The two servers run one after the other (never together: on a small machine they would share the cores).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    from fcray.bench.loadgen import run_matrix
    from fcray.cluster import free_port, ray_head, use_head
    from fcray.config import BenchConfig, TinyModelConfig, load_config
    from fcray.eval.vllm_server import ServerSpec, vllm_server
    from fcray.model.tiny import ensure_tiny_model
    from fcray.serve.launch import deploy, shutdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model folder (default: the embedded tiny model)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--prompt", type=int, default=256)
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    model = args.model or str(ensure_tiny_model(TinyModelConfig()))
    config = load_config("tiny", overrides=[f"serve.port={free_port()}"])
    s = config.serve.engine  # the same engine settings for both servers
    bench = BenchConfig(concurrency=args.concurrency, prompt_lengths=[args.prompt], requests_per_cell=args.requests,
                        max_seconds_per_cell=300, warmup_requests=4, max_tokens=args.max_tokens)

    results = {}
    os.environ["FCRAY_RAY_DASHBOARD_PORT"] = str(free_port())
    with ray_head(num_cpus=4) as head:
        use_head(head)
        served = deploy(config, head.address, model=model)
        results["ray_serve"] = run_matrix(served.url, served.model_id, bench)
        shutdown(head.address)
    spec = ServerSpec(model=model, served_name=config.serve.model_id, max_model_len=s.max_model_len, dtype=s.dtype,
                      kv_cache_memory_bytes=s.kv_cache_memory_bytes, enforce_eager=s.enforce_eager,
                      extra_args=["--max-num-seqs", str(s.max_num_seqs),
                                  "--max-num-batched-tokens", str(s.max_num_batched_tokens)])
    with vllm_server(spec) as url:
        results["bare_vllm"] = run_matrix(url, config.serve.model_id, bench)

    print(f"\nmodel {model}; prompt {args.prompt} tokens, {args.max_tokens} output tokens, {args.requests} requests/cell;"
          f" max_num_seqs {s.max_num_seqs}, max_num_batched_tokens {s.max_num_batched_tokens}")
    print(f"{'concurrency':>11} | {'TTFT P50 ms serve/vllm':>24} | {'TTFT P95 ms serve/vllm':>24} | "
          f"{'tok/s serve/vllm':>18} | ratios TTFT50 TTFT95 tok/s")
    for serve_row, vllm_row in zip(results["ray_serve"], results["bare_vllm"]):
        t50 = serve_row["ttft_p50_s"] / vllm_row["ttft_p50_s"]
        t95 = serve_row["ttft_p95_s"] / vllm_row["ttft_p95_s"]
        tps = serve_row["output_tokens_per_s"] / vllm_row["output_tokens_per_s"]
        print(f"{serve_row['concurrency']:>11} | {serve_row['ttft_p50_s'] * 1000:>10.0f} / {vllm_row['ttft_p50_s'] * 1000:<11.0f} | "
              f"{serve_row['ttft_p95_s'] * 1000:>10.0f} / {vllm_row['ttft_p95_s'] * 1000:<11.0f} | "
              f"{serve_row['output_tokens_per_s']:>7.0f} / {vllm_row['output_tokens_per_s']:<8.0f} | "
              f"{t50:.2f} {t95:.2f} {tps:.2f}")
    return 0


if __name__ == "__main__":  # vLLM (and Ray) spawn processes that re-import this file
    sys.exit(main())
