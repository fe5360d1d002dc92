"""Benchmark: SFT training throughput on the tiny preset (run by hand; not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_sft_throughput.py [--steps 30]

Side by side on the same data and per-device batch: plain single-process TRL SFTTrainer (1 and 2 torch
threads), and fcray's Ray Train SFT with 1 and 2 CPU workers (1 thread each). Throughput is tokens/s
between logging steps after a warm-up (start-up and data loading excluded), as TRL counts tokens.
Prints every figure and the ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
from pathlib import Path


def tokens_per_s(metrics: Path, warmup: int = 2) -> float:
    records = [r for r in map(json.loads, metrics.read_text().splitlines()) if r["kind"] == "step"]
    first, last = records[warmup], records[-1]
    return (last["num_tokens"] - first["num_tokens"]) / (last["time"] - first["time"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("RAY_TRAIN_ENABLE_PRINT_PATCH", "0")
    from fcray.config import load_config
    from fcray.data.pipeline import build_dataset
    from fcray.model.tiny import resolve_model_path
    from fcray.sft.train import SFTJob, build_trainer, run_sft

    work = Path(tempfile.mkdtemp(prefix="fcray-bench-sft-"))
    overrides = [f"workdir={work}", f"sft.max_steps={args.steps}", "sft.logging_steps=2", "sft.save_steps=100000"]
    config = load_config("tiny", overrides=overrides)
    build_dataset(config.data, work / "data")
    model_path = resolve_model_path(config.model.name_or_path, config.model.tiny)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores; tiny preset, "
          f"per-device batch {config.sft.per_device_train_batch_size}, {args.steps} steps")

    results = {}
    for threads in (1, 2):
        run_dir = work / f"plain-{threads}"
        run_dir.mkdir()
        sft = dataclasses.replace(config.sft, ray_train=dataclasses.replace(config.sft.ray_train, cpus_per_worker=threads))
        trainer = build_trainer(SFTJob(sft, model_path, str(work / "data" / "train.jsonl"), str(run_dir)), 1)
        trainer.train()
        results[f"plain TRL, 1 process, {threads} thread(s)"] = tokens_per_s(run_dir / "metrics.jsonl")
    for workers in (1, 2):
        name = f"ray-{workers}"
        run_sft(load_config("tiny", overrides=[*overrides, f"sft.ray_train.num_workers={workers}"]), name)
        results[f"Ray Train, {workers} worker(s) x 1 thread"] = tokens_per_s(work / "runs" / name / "metrics.jsonl")

    base = results["plain TRL, 1 process, 1 thread(s)"]
    for name, rate in results.items():
        print(f"{name:<40} {rate:>9,.0f} tokens/s   ratio to plain TRL (1 thread): {rate / base:.2f}")
    one, two = results["Ray Train, 1 worker(s) x 1 thread"], results["Ray Train, 2 worker(s) x 1 thread"]
    print(f"scaling 1 -> 2 Ray workers: {two / one:.2f}x; Ray Train (1 worker) vs plain TRL (1 thread): {one / base:.2f}x")


if __name__ == "__main__":
    main()
