"""Soak: the served tiny model under a bounded closed-loop load for a long while, watched minute by minute —
errors, TTFT and end-to-end latency P50/P95/P99, requests, and the resident memory of the server's processes
(Serve proxy, controller, ingress and engine replicas, vLLM's engine core and its model-runner worker).

    .venv/bin/python tests/benchmarks/bench_soak.py [--minutes 10] [--concurrency 8] [--prompt 256] \
        [--max-tokens 64] [--out docs/results/<date>-soak.json]

It prints one row per minute, then the drift: last minute against the second (the first warms caches), and
the memory slope over minutes 2..N in MiB per minute. Run it alone: on a small machine anything else
running shares the cores and shows up as latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

GROUPS = {"proxy": "ProxyActor", "controller": "ServeController", "ingress": "FcrayIngress",
          "llm_server": "LLMServer", "engine_core": "EngineCore", "engine_worker": "VLLM::Worker"}


def server_memory() -> dict[str, float]:
    """Resident memory (MiB) of the Serve app's processes, by role, found by Ray's and vLLM's process titles."""
    import psutil

    rss = dict.fromkeys(GROUPS, 0.0)
    for process in psutil.process_iter(["cmdline", "name", "memory_info"]):
        title = " ".join(process.info["cmdline"] or []) + " " + (process.info["name"] or "")
        for group, marker in GROUPS.items():
            if marker in title and process.info["memory_info"] is not None:
                rss[group] += process.info["memory_info"].rss / 2**20
                break
    rss["total"] = sum(rss.values())
    return rss


def slope(points: list[tuple[float, float]]) -> float | None:
    import numpy

    if len(points) < 2:
        return None
    x, y = numpy.array(points).T
    return float(numpy.polyfit(x, y, 1)[0])


async def soak(url: str, model: str, prompt: str, args: argparse.Namespace) -> list[dict]:
    import openai

    from fcray.bench.loadgen import one_request, percentile

    client = openai.AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=0, timeout=120)
    start = time.perf_counter()
    deadline = start + args.minutes * 60
    done: list[tuple[float, object]] = []  # (finish time, RequestResult)

    async def user() -> None:
        while time.perf_counter() < deadline:
            result = await one_request(client, model, prompt, args.max_tokens)
            done.append((time.perf_counter() - start, result))

    async def watch() -> list[dict]:
        rows = []
        for minute in range(1, args.minutes + 1):
            await asyncio.sleep(max(0.0, start + minute * 60 - time.perf_counter()))
            window = [r for t, r in done if minute - 1 <= t / 60 < minute]
            ok = [r for r in window if r.ok]
            e2e, ttft = [r.e2e_s for r in ok], [r.ttft_s for r in ok]
            row = {"minute": minute, "requests": len(window), "errors": len(window) - len(ok),
                   "errors_by_type": {}, **{f"{name}_p{q}_s": percentile(values, q)
                                           for name, values in (("ttft", ttft), ("e2e", e2e)) for q in (50, 95, 99)},
                   "output_tokens_per_s": sum(r.output_tokens for r in ok) / 60, "rss_mib": server_memory()}
            for r in window:
                if not r.ok:
                    kind = (r.error or "").split(":")[0]
                    row["errors_by_type"][kind] = row["errors_by_type"].get(kind, 0) + 1
            rows.append(row)
            print(f"minute {minute:>3}: {row['requests']:>4} requests, {row['errors']} errors, "
                  f"E2E P50/P95/P99 {row['e2e_p50_s'] or 0:.3f}/{row['e2e_p95_s'] or 0:.3f}/{row['e2e_p99_s'] or 0:.3f} s, "
                  f"TTFT P95 {row['ttft_p95_s'] or 0:.3f} s, server RSS {row['rss_mib']['total']:.0f} MiB", flush=True)
        return rows

    users = [asyncio.create_task(user()) for _ in range(args.concurrency)]
    rows = await watch()
    await asyncio.gather(*users)
    return rows


def main() -> int:
    from fcray.bench.loadgen import endpoint_token_counter, make_prompt
    from fcray.cluster import free_port, ray_head, use_head
    from fcray.config import TinyModelConfig, load_config
    from fcray.model.tiny import ensure_tiny_model
    from fcray.serve.launch import deploy, shutdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model folder (default: the embedded tiny model)")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--prompt", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--out", help="write the figures here as JSON")
    args = parser.parse_args()
    model = args.model or str(ensure_tiny_model(TinyModelConfig()))
    config = load_config("tiny", overrides=[f"serve.port={free_port()}"])
    os.environ["FCRAY_RAY_DASHBOARD_PORT"] = str(free_port())
    with ray_head(num_cpus=4) as head:
        use_head(head)
        served = deploy(config, head.address, model=model)
        prompt = make_prompt(args.prompt, endpoint_token_counter(served.url, served.model_id))
        rows = asyncio.run(soak(served.url, served.model_id, prompt, args))
        shutdown(head.address)
    steady = rows[1:] if len(rows) > 2 else rows
    summary = {
        "minutes": args.minutes, "concurrency": args.concurrency, "prompt_tokens": args.prompt,
        "max_tokens": args.max_tokens, "model": model, "serve": {"max_num_seqs": config.serve.engine.max_num_seqs,
                                                                 "max_num_batched_tokens": config.serve.engine.max_num_batched_tokens},
        "requests": sum(r["requests"] for r in rows), "errors": sum(r["errors"] for r in rows),
        "e2e_p50_drift": (rows[-1]["e2e_p50_s"] / steady[0]["e2e_p50_s"]) if steady[0]["e2e_p50_s"] else None,
        "e2e_p95_drift": (rows[-1]["e2e_p95_s"] / steady[0]["e2e_p95_s"]) if steady[0]["e2e_p95_s"] else None,
        "rss_slope_mib_per_min": slope([(r["minute"], r["rss_mib"]["total"]) for r in steady]),
        "rss_first_last_mib": [steady[0]["rss_mib"]["total"], rows[-1]["rss_mib"]["total"]],
        "minutes_rows": rows,
    }
    print(f"\n{summary['requests']} requests, {summary['errors']} errors; E2E P50 last/second minute "
          f"{summary['e2e_p50_drift']:.2f}, P95 {summary['e2e_p95_drift']:.2f}; server RSS "
          f"{summary['rss_first_last_mib'][0]:.0f} -> {summary['rss_first_last_mib'][1]:.0f} MiB "
          f"({summary['rss_slope_mib_per_min']:+.2f} MiB/min over minutes 2..{args.minutes})")
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":  # vLLM (and Ray) spawn processes that re-import this file
    sys.exit(main())
