"""Benchmark: GRPO rollout throughput, vLLM engine actors vs Hugging Face ``generate`` (run by hand; not
collected by pytest), and where a GRPO step's time goes.

    .venv/bin/python tests/benchmarks/bench_rollout.py [--model DIR] [--prompts 16] [--group 4] \
        [--max-tokens 96] [--grpo-run fcray_runs/runs/grpo-tiny]

Same model, same prompts (validation examples rendered with the model's chat template and tools), the same
sampling (temperature 0.7, top-p 0.8, top-k 20 — the GRPO preset's), ``group`` completions per prompt:
1. HF ``generate`` in this process (all threads, batched, do_sample, ``num_return_sequences=group``);
2. one fcray rollout engine (vLLM in a Ray actor, 1 CPU);
3. two engines (the tiny preset's setting), the batch split between them.
Throughput = completion tokens / wall seconds of the generate call, after one warm-up call each.
With ``--grpo-run``, also prints the share of step time in each phase (rollout / reward / sync / update)
from that run's ``metrics.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def hf_generate(model_dir: str, prompts: list[list[int]], group: int, max_tokens: int, pad_id: int) -> tuple[int, float]:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])

    def run() -> tuple[int, float]:
        start = time.perf_counter()
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=0.7, top_p=0.8,
                                 top_k=20, max_new_tokens=max_tokens, num_return_sequences=group, pad_token_id=pad_id)
        seconds = time.perf_counter() - start
        new = out[:, width:]
        eos = model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        tokens = 0
        for row in new.tolist():  # count up to and including the first EOS, as vLLM reports
            for i, t in enumerate(row):
                if t in eos:
                    tokens += i + 1
                    break
            else:
                tokens += len(row)
        return tokens, seconds

    run()  # warm-up
    return run()


def vllm_generate(model_dir: str, prompts: list[list[int]], group: int, max_tokens: int, engines: int) -> tuple[int, float]:
    from fcray.engine.vllm_pool import EngineSpec, RolloutPool, Sampling

    pool = RolloutPool.create(EngineSpec(model_path=model_dir, max_model_len=1024, kv_cache_memory_bytes=64 << 20),
                              engines, max_restarts=0)
    try:
        batch = [p for p in prompts for _ in range(group)]
        sampling = Sampling(temperature=0.7, top_p=0.8, top_k=20, max_tokens=max_tokens)
        pool.generate(batch, sampling, seeds=list(range(len(batch))))  # warm-up
        completions, stats = pool.generate(batch, sampling, seeds=[s + 10_000 for s in range(len(batch))])
        return stats.completion_tokens, stats.seconds
    finally:
        pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="model folder (default: the embedded tiny model)")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--group", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--grpo-run", help="a GRPO run folder: print its per-phase time shares")
    args = parser.parse_args()

    import ray
    from transformers import AutoTokenizer

    from fcray.config import load_config
    from fcray.data.export import render_prompt
    from fcray.data.pipeline import build_dataset
    from fcray.data.io import load_examples
    from fcray.model.tiny import resolve_model_path

    config = load_config("tiny")
    model_dir = args.model or resolve_model_path(config.model.name_or_path, config.model.tiny)
    files = build_dataset(config.data, Path(tempfile.mkdtemp(prefix="fcray-bench-rollout-")))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    examples = [e for e in load_examples(files.validation)][: args.prompts]
    prompts = [tokenizer(render_prompt(e, tokenizer), add_special_tokens=False)["input_ids"] for e in examples]
    print(f"machine: {platform.node()} {os.cpu_count()} CPUs; model {model_dir}; {len(prompts)} prompts x "
          f"{args.group} completions, <= {args.max_tokens} new tokens, mean prompt "
          f"{sum(map(len, prompts)) / len(prompts):.0f} tokens")

    results = {"hf_generate": hf_generate(model_dir, prompts, args.group, args.max_tokens, tokenizer.pad_token_id)}
    ray.init(address="local", num_cpus=4, include_dashboard=False)
    for engines in (1, 2):
        results[f"vllm_{engines}_engine{'s' if engines > 1 else ''}"] = vllm_generate(
            model_dir, prompts, args.group, args.max_tokens, engines)
    ray.shutdown()
    base = results["hf_generate"][0] / results["hf_generate"][1]
    print(f"{'backend':<16}{'tokens':>8}{'seconds':>10}{'tokens/s':>10}{'vs HF':>8}")
    for name, (tokens, seconds) in results.items():
        rate = tokens / seconds
        print(f"{name:<16}{tokens:>8}{seconds:>10.2f}{rate:>10.0f}{rate / base:>7.2f}x")

    if args.grpo_run:
        from fcray.grpo.metrics import phase_shares, read_metrics

        records = read_metrics(args.grpo_run)[1:]  # step 1 includes engine warm-up
        shares = phase_shares(records)
        mean_step = sum(r["time/step_s"] for r in records) / len(records)
        print(f"\nGRPO run {args.grpo_run}: {len(records)} steps, mean step {mean_step:.1f}s; share of step time: "
              + ", ".join(f"{k} {v:.1%}" for k, v in shares.items()))
        print(json.dumps({"mean_rollout_tokens_per_s": sum(r["rollout/tokens_per_s"] for r in records) / len(records)}))


if __name__ == "__main__":
    main()
