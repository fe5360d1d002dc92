"""Benchmark: SFT throughput levers on the tiny preset, side by side on the same data (run by hand; not
collected by pytest).

    .venv/bin/python tests/benchmarks/bench_sft_throughput.py [--steps 30] [--out docs/results/X.json]

Each variant is the tiny preset's SFT (TRL's SFTTrainer, fcray's own ``build_trainer``) for ``--steps``
optimizer steps from the same base, data and seed, changing one lever:

* threads: plain single-process TRL with 1 and 2 torch threads;
* ``sft.bf16``: bf16 autocast on the CPU (this machine has AVX-512 BF16);
* ``sft.torch_compile``: torch.compile of the model;
* ``sft.packing``: TRL's best-fit packing, padding-free (with sdpa attention packed examples see each
  other, so it would only be kept if it also reached the baseline's loss as fast);
* worker layout: fcray's Ray Train SFT with 1 and 2 CPU workers of 1 thread each.

Throughput is TRL's token count (pad tokens excluded) per second between logging steps after a warm-up
(start-up, compilation and data loading excluded). "Time to loss" is the training time until the logged
loss first reaches the 1-thread baseline's final loss. Prints every figure and the ratios to the baseline,
and writes them as JSON with ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path


def step_records(metrics: Path) -> list[dict]:
    return [r for r in map(json.loads, metrics.read_text().splitlines()) if r["kind"] == "step"]


def tokens_per_s(records: list[dict], warmup: int = 2) -> float:
    warmup = min(warmup, len(records) - 2)
    first, last = records[warmup], records[-1]
    return (last["num_tokens"] - first["num_tokens"]) / (last["time"] - first["time"])


def seconds_to_loss(records: list[dict], target: float) -> float | None:
    start = records[0]["time"]
    for record in records:
        if record.get("loss") is not None and record["loss"] <= target:
            return record["time"] - start
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--slow-steps", type=int, default=6,
                        help="steps for a variant that proves far slower (bf16 autocast on CPUs without AMX)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray Train worker-layout variants")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
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
    machine = f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores"
    print(f"machine: {machine}; tiny preset, per-device batch {config.sft.per_device_train_batch_size}, "
          f"{args.steps} steps")

    def plain(name: str, threads: int, steps: int | None = None, **levers) -> dict:
        run_dir = work / name
        run_dir.mkdir()
        sft = dataclasses.replace(config.sft, max_steps=steps or args.steps, **levers,
                                  ray_train=dataclasses.replace(config.sft.ray_train, cpus_per_worker=threads))
        trainer = build_trainer(SFTJob(sft, model_path, str(work / "data" / "train.jsonl"), str(run_dir)), 1)
        start = time.time()
        trainer.train()
        return {"records": step_records(run_dir / "metrics.jsonl"), "wall_s": time.time() - start,
                "steps": sft.max_steps}

    runs = {"fp32, 1 thread": plain("fp32-1", 1), "fp32, 2 threads": plain("fp32-2", 2)}
    runs["bf16 autocast, 2 threads"] = plain("bf16-2", 2, steps=args.slow_steps, bf16=True)
    runs["torch.compile, 2 threads"] = plain("compile-2", 2, torch_compile=True)
    runs["packing (padding-free), 2 threads"] = plain("packing-2", 2, packing=True)
    if not args.no_ray:
        for workers in (1, 2):
            name = f"ray-{workers}"
            start = time.time()
            run_sft(load_config("tiny", overrides=[*overrides, f"sft.ray_train.num_workers={workers}"]), name)
            runs[f"Ray Train, {workers} worker(s) x 1 thread"] = {
                "records": step_records(work / "runs" / name / "metrics.jsonl"), "wall_s": time.time() - start,
                "steps": args.steps}

    base = runs["fp32, 1 thread"]
    target = base["records"][-1]["loss"]
    results = {}
    for name, run in runs.items():
        rate = tokens_per_s(run["records"])
        results[name] = {"tokens_per_s": rate, "ratio": rate / tokens_per_s(base["records"]),
                         "steps": run["steps"], "final_loss": run["records"][-1]["loss"],
                         "seconds_to_baseline_loss": seconds_to_loss(run["records"], target), "wall_s": run["wall_s"]}
    print(f"baseline final loss (target): {target:.4f}")
    for name, r in results.items():
        reach = f"{r['seconds_to_baseline_loss']:.0f} s" if r["seconds_to_baseline_loss"] is not None else "not reached"
        print(f"{name:<38} {r['tokens_per_s']:>8,.0f} tokens/s  x{r['ratio']:.2f}  steps {r['steps']:>3}  "
              f"final loss {r['final_loss']:.4f}  time to target loss {reach}")
    if args.out:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        args.out.write_text(json.dumps({"command": "python tests/benchmarks/bench_sft_throughput.py "
                                        f"--steps {args.steps}", "commit": commit, "machine": machine,
                                        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                        "baseline_loss": target, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
