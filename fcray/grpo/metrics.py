"""GRPO run metrics: one JSON line per logged step in ``<run>/metrics.jsonl`` and PNG curves.

TRL logs the training quantities (reward and each reward function's mean and std, KL, entropy, completion
lengths, clip ratios, ``frac_reward_zero_std`` = share of groups whose completions all scored the same and
so carry no advantage). fcray adds where the time of a step went — rollout (vLLM engines), reward scoring,
weight sync and the policy update (the rest of the step) — and rollout tokens/s; the callback runs ahead of the
trackers' (fcray.tracking.add_first), so these figures reach TensorBoard/MLflow/W&B under the same names.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any


class PhaseTimer:
    """Seconds per phase accumulated since the last ``take()``; shared by the rollout, reward and sync code."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, float] = defaultdict(float)

    def add(self, phase: str, seconds: float, count: float = 0.0) -> None:
        self.seconds[phase] += seconds
        self.counts[phase] += count

    def take(self) -> tuple[dict[str, float], dict[str, float]]:
        seconds, counts = dict(self.seconds), dict(self.counts)
        self.seconds.clear()
        self.counts.clear()
        return seconds, counts


def timed_reward(func: Any, timer: PhaseTimer) -> Any:
    """``func`` (a TRL reward function) with its scoring time added to the ``reward`` phase."""

    def reward(*args: Any, **kwargs: Any) -> list[float]:
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            timer.add("reward", time.perf_counter() - start)

    reward.__name__ = func.__name__  # TRL logs each reward function under its name
    return reward


def metrics_callback(run_dir: str, timer: PhaseTimer):
    from transformers import TrainerCallback

    class GRPOMetricsWriter(TrainerCallback):
        def __init__(self) -> None:
            self.step_start = time.perf_counter()
            self.step_seconds = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self.step_start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.step_seconds += time.perf_counter() - self.step_start

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs:
                return
            seconds, counts = timer.take()
            step_seconds, self.step_seconds = self.step_seconds, 0.0
            if not state.is_world_process_zero:
                return
            kind = "summary" if "train_runtime" in logs else "step"
            ours: dict[str, Any] = {}
            if kind == "step" and step_seconds > 0:
                rollout, reward, sync = (seconds.get(k, 0.0) for k in ("rollout", "reward", "sync"))
                ours.update({
                    "time/step_s": step_seconds, "time/rollout_s": rollout, "time/reward_s": reward,
                    "time/sync_s": sync, "time/update_s": max(step_seconds - rollout - reward - sync, 0.0),
                    "rollout/tokens_per_s": counts.get("rollout", 0.0) / rollout if rollout else None,
                    "rollout/resyncs": counts.get("resync", 0.0),
                })
            logs.update({k: v for k, v in ours.items() if v is not None})  # trackers plot numbers only
            record: dict[str, Any] = {"kind": kind, "step": state.global_step, "time": time.time(), **logs, **ours}
            with open(Path(run_dir) / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    return GRPOMetricsWriter()


CURVES = (
    ("reward", "total reward"), ("rewards/fcray_parse/mean", "parse rate"),
    ("rewards/fcray_match/mean", "exact match"), ("kl", "KL to reference"), ("entropy", "entropy"),
    ("completions/mean_length", "completion length"), ("frac_reward_zero_std", "groups with zero advantage"),
    ("rollout/tokens_per_s", "rollout tokens/s"),
)


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [r for r in map(json.loads, path.read_text().splitlines()) if r.get("kind") == "step"]


def write_curves(run_dir: str | Path) -> Path | None:
    """``curves.png``: one panel per curve in :data:`CURVES` plus the time split per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(run_dir)
    if not records:
        return None
    panels = [(key, title) for key, title in CURVES if any(r.get(key) is not None for r in records)]
    rows = (len(panels) + 1 + 2) // 3  # the curves and the time split, 3 to a row
    fig, axes = plt.subplots(rows, 3, figsize=(13, 3.2 * rows), squeeze=False)
    flat = list(axes.flat)
    for ax, (key, title) in zip(flat, panels):
        points = [(r["step"], r[key]) for r in records if r.get(key) is not None]
        ax.plot(*zip(*points), marker=".")
        ax.set_title(title)
        ax.set_xlabel("step")
    ax = flat[len(panels)]
    steps = [r["step"] for r in records if "time/step_s" in r]
    bottom = [0.0] * len(steps)
    for phase in ("rollout", "reward", "sync", "update"):
        values = [r[f"time/{phase}_s"] for r in records if "time/step_s" in r]
        ax.bar(steps, values, bottom=bottom, label=phase)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_title("seconds per step")
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    for extra in flat[len(panels) + 1:]:
        extra.axis("off")
    fig.suptitle(f"GRPO {Path(run_dir).name}")
    fig.tight_layout()
    out = Path(run_dir) / "curves.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def phase_shares(records: list[dict[str, Any]]) -> dict[str, float]:
    """Share of total step time spent in each phase over ``records``."""
    totals = {p: sum(r.get(f"time/{p}_s", 0.0) for r in records) for p in ("rollout", "reward", "sync", "update")}
    whole = sum(totals.values()) or 1.0
    return {p: v / whole for p, v in totals.items()}
