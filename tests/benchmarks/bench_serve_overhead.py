"""Ray Serve overhead: the same load against fcray's Ray Serve LLM app (in one or more variants) and against
a bare vLLM OpenAI server of the same model and engine settings, side by side in one run; prints TTFT
P50/P95 and tokens/s ratios, and where the time goes (fcray.bench.breakdown: the engine's own queue,
prefill and TTFT, Serve's proxy and deployment latencies, against the client's).

    .venv/bin/python tests/benchmarks/bench_serve_overhead.py [--model DIR] [--concurrency 1 4 8] \
        [--requests 48] [--variants fcray batch-10ms] [--out results.json]

Variants are fcray serve settings (`--set` overrides of the tiny preset, see VARIANTS); the servers run one
after the other (never together: on a small machine they would share the cores).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

HAPROXY = {"RAY_SERVE_ENABLE_HA_PROXY": "1"}  # Serve's HAProxy ingress (needs a haproxy binary on PATH)
DIRECT = {"RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING": "1"}

# name -> (overrides of the tiny preset's serve settings, environment of the Ray head (Serve's controller and
# proxies read their settings from it), Ray Serve LLM direct streaming)
VARIANTS = {
    "fcray": ([], {}, False),                                          # the preset as it ships
    "batch-10ms": (["serve.stream_batching_interval_ms=10"], {}, False),  # Ray Serve LLM's stream batching
    "batch-0ms": (["serve.stream_batching_interval_ms=0"], {}, False),
    "batch-100ms": (["serve.stream_batching_interval_ms=100"], {}, False),
    "haproxy": ([], HAPROXY, False),                                   # HAProxy instead of Serve's Python proxy
    # Direct streaming: LLMServer is the ingress, serving vLLM's own FastAPI app, with no ingress replica
    # between the proxy and the engine (Ray 2.60 requires the HAProxy ingress for it). It takes no custom
    # ingress, so fcray's (auth, limits, tool-schema checks, constrained decoding) is dropped here: a
    # measurement of what the hop costs, not a configuration fcray ships.
    "direct": ([], HAPROXY, True),
}


def direct_streaming(deploy_config: dict) -> dict:
    """``deploy_config`` with Ray Serve LLM's direct streaming on (its builder reads the variable when it
    builds the app, so it goes in the application's runtime_env) and fcray's ingress left out."""
    app = deploy_config["applications"][0]
    app["args"].pop("ingress_cls_config", None)
    app["runtime_env"] = {"env_vars": DIRECT}
    return deploy_config


@contextlib.contextmanager
def variant_head(env: dict[str, str]):
    """A Ray head of its own for one variant, started with ``env`` (then put back)."""
    from fcray.cluster import free_port, ray_head, use_head

    saved = dict(os.environ)
    os.environ.update({"FCRAY_RAY_DASHBOARD_PORT": str(free_port()), **env})
    try:
        with ray_head(num_cpus=4) as head:
            use_head(head)
            yield head
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> int:
    from fcray.bench.breakdown import Breakdown, http_texts
    from fcray.bench.loadgen import run_matrix
    from fcray.bench.overhead import bare_server_spec, breakdown_lines, ratios
    from fcray.bench.resources import ray_metrics_texts
    from fcray.cluster import free_port
    from fcray.config import BenchConfig, TinyModelConfig, load_config
    from fcray.eval.vllm_server import vllm_server
    from fcray.model.tiny import ensure_tiny_model
    from fcray.serve.launch import deploy, shutdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model folder (default: the embedded tiny model)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--prompt", type=int, default=256)
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--variants", nargs="+", default=["fcray"], choices=sorted(VARIANTS))
    parser.add_argument("--out", help="write every row (and the settings) to this JSON file")
    parser.add_argument("--engine-cores", type=int, nargs="+", metavar="CORE",
                        help="keep every process but the engine off these cores (the load generator, Ray, Serve's "
                             "proxy and replicas, a bare vLLM's API server): vLLM's CPU engine binds its threads to "
                             "the first cores itself (core 0 on 2 cores), so this isolates it, for both servers")
    args = parser.parse_args()
    if args.engine_cores:  # children inherit the mask; the engine's own binding (sched_setaffinity) overrides it
        others = set(range(os.cpu_count() or 1)) - set(args.engine_cores)
        os.sched_setaffinity(0, others)
        print(f"[bench] everything but the engine on cores {sorted(others)}", file=sys.stderr)
    model = args.model or str(ensure_tiny_model(TinyModelConfig()))
    bench = BenchConfig(concurrency=args.concurrency, prompt_lengths=[args.prompt], requests_per_cell=args.requests,
                        max_seconds_per_cell=600, warmup_requests=4, max_tokens=args.max_tokens)

    results: dict[str, list[dict]] = {}
    failed: dict[str, str] = {}
    port = free_port()
    for name in args.variants:
        overrides, env, direct = VARIANTS[name]
        config = load_config("tiny", overrides=[f"serve.port={port}", *overrides])
        try:
            with variant_head(env) as head:
                import fcray.serve.launch as launch

                plain = launch.serve_deploy_config
                if direct:
                    launch.serve_deploy_config = lambda *a, **k: direct_streaming(plain(*a, **k))
                try:
                    served = deploy(config, head.address, model=model)
                finally:
                    launch.serve_deploy_config = plain
                split = Breakdown(ray_metrics_texts(head.address), "ray_vllm_", served.model_id)
                results[name] = run_matrix(served.url, served.model_id, bench, breakdown=split)
                shutdown(head.address)
        except Exception as error:  # noqa: BLE001 - a variant that cannot run is a result too
            failed[name] = f"{type(error).__name__}: {error}"[:2000]
            print(f"[bench] variant {name} failed: {failed[name]}", file=sys.stderr)
    config = load_config("tiny")
    s = config.serve.engine
    with vllm_server(bare_server_spec(config, model)) as url:  # the same engine settings as the Serve app's
        split = Breakdown(http_texts(url.removesuffix("/v1") + "/metrics"), "vllm:", config.serve.model_id)
        results["bare_vllm"] = run_matrix(url, config.serve.model_id, bench, breakdown=split)

    print(f"\nmodel {model}; prompt {args.prompt} tokens, {args.max_tokens} output tokens, {args.requests} requests/cell;"
          f" max_num_seqs {s.max_num_seqs}, max_num_batched_tokens {s.max_num_batched_tokens}")
    by_variant: dict[str, dict[int, dict]] = {}
    for name, why in failed.items():
        print(f"\n{name}: failed: {why.splitlines()[0]}")
    for name in (n for n in args.variants if n in results):
        print(f"\n{name} vs bare vLLM")
        print(f"{'concurrency':>11} | {'TTFT P50 ms serve/vllm':>24} | {'TTFT P95 ms serve/vllm':>24} | "
              f"{'tok/s serve/vllm':>18} | ratios TTFT50 TTFT95 tok/s")
        for serve_row, vllm_row in zip(results[name], results["bare_vllm"]):
            cell = ratios(serve_row, vllm_row)
            by_variant.setdefault(name, {})[serve_row["concurrency"]] = cell
            t50, t95, tps = cell["ttft_p50"], cell["ttft_p95"], cell["tokens_per_s"]
            print(f"{serve_row['concurrency']:>11} | {serve_row['ttft_p50_s'] * 1000:>10.0f} / {vllm_row['ttft_p50_s'] * 1000:<11.0f} | "
                  f"{serve_row['ttft_p95_s'] * 1000:>10.0f} / {vllm_row['ttft_p95_s'] * 1000:<11.0f} | "
                  f"{serve_row['output_tokens_per_s']:>7.0f} / {vllm_row['output_tokens_per_s']:<8.0f} | "
                  f"{t50:.2f} {t95:.2f} {tps:.2f}")
    print("\nwhere the time goes (means per request, ms)")
    for name, rows in results.items():
        for row in rows:
            print("\n".join(breakdown_lines(name, row)))
    if args.out:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        Path(args.out).write_text(json.dumps({
            "command": " ".join([Path(sys.executable).name, *sys.argv]), "commit": commit + ("+dirty" if dirty else ""),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
            "date": time.strftime("%Y-%m-%d"), "settings": {"prompt_tokens": args.prompt, "max_tokens": args.max_tokens,
                                                            "engine_cores": args.engine_cores,
                                                            "requests": args.requests, "variants": {
                                                                n: VARIANTS[n] for n in args.variants}},
            "rows": results, "ratios": by_variant, "failed": failed}, indent=2) + "\n")
        print(f"\n-> {args.out}")
    return 0


if __name__ == "__main__":  # vLLM (and Ray) spawn processes that re-import this file
    sys.exit(main())
