"""GRPO end to end on a real local Ray cluster: 2 policy workers (TRL GRPOTrainer), 2 vLLM rollout engines.
A rollout engine killed mid-run is restarted and the run completes; the same run name resumes from its
checkpoint; metrics, curves and model "C" are written."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from fcray.config import load_config
from tests.tracking_readback import event_files, mlflow_runs, tensorboard_scalars

pytestmark = pytest.mark.slow


RAY_NUM_CPUS = 4  # for the ray_local fixture


def _kill_engine_after_first_step(run_dir, engine_name, killed):
    import ray

    deadline = time.time() + 600
    metrics = run_dir / "metrics.jsonl"
    while time.time() < deadline:
        if metrics.exists() and any(json.loads(line).get("step", 0) >= 1 for line in metrics.read_text().splitlines()):
            engine = ray.get_actor(engine_name)
            pid = ray.get(engine.info.remote())["pid"]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.5)


def test_grpo_runs_survives_a_dead_rollout_engine_and_resumes(tmp_path, tiny_model_dir, ray_local):
    from fcray.grpo.train import run_grpo

    overrides = [f"workdir={tmp_path}", "data.num_examples=120", f"grpo.model_path={tiny_model_dir}",
                 "grpo.per_device_train_batch_size=8", "grpo.gradient_accumulation_steps=2",
                 "grpo.max_completion_length=24", "grpo.save_steps=2",
                 "grpo.ray_train.num_workers=2", "grpo.num_engines=2",
                 "grpo.beta=0.01"]  # a reference model, so the KL is logged (TRL computes it only when beta > 0)
    run_dir = tmp_path / "runs" / "grpo-test"
    killed: list[int] = []
    killer = threading.Thread(target=_kill_engine_after_first_step,
                              args=(run_dir, "fcray-rollout-grpo-test-0", killed), daemon=True)
    killer.start()
    result = run_grpo(load_config("tiny", overrides=[*overrides, "grpo.max_steps=4"]), "grpo-test")
    killer.join(timeout=1)
    assert killed, "the rollout engine was not killed during the run"
    assert result.error is None and result.metrics["step"] == 4

    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if r["kind"] == "step"]
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    for key in ("reward", "rewards/fcray_parse/mean", "rewards/fcray_match/mean", "kl", "entropy",
                "completions/mean_length", "frac_reward_zero_std", "time/rollout_s", "time/reward_s",
                "time/sync_s", "time/update_s", "rollout/tokens_per_s"):
        assert all(r.get(key) is not None for r in steps), key
    assert all(r["time/sync_s"] > 0 for r in steps[1:])  # weights sent before every step after the first
    assert not any("frac_micro_batches_skipped" in r for r in steps)  # with a KL term nothing is skipped
    assert (run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"
    # TensorBoard: one event file for 2 policy workers; TRL's reward components and fcray's time split.
    assert len(event_files(run_dir / "tensorboard")) == 1
    scalars = tensorboard_scalars(run_dir / "tensorboard")
    for tag in ("train/reward", "train/rewards/fcray_parse/mean", "train/kl", "train/time/rollout_s",
                "train/time/sync_s", "train/time/update_s", "train/rollout/tokens_per_s"):
        assert [step for step, _ in scalars[tag]] == [1, 2, 3, 4], tag
    assert [v for _, v in scalars["train/time/rollout_s"]] == pytest.approx([r["time/rollout_s"] for r in steps])
    card = (run_dir / "model" / "README.md").read_text()
    assert '"grpo"' in card and "## Export check" in card

    # The same run name with more steps continues from the step-4 checkpoint (fresh rollout engines).
    resumed = run_grpo(load_config("tiny", overrides=[*overrides, "grpo.max_steps=5"]), "grpo-test")
    assert resumed.error is None and resumed.metrics["step"] == 5
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "step"] == [1, 2, 3, 4, 5]
    # New engines start from the run's starting model; the resumed step first sends them the trained weights.
    assert records[-2]["time/sync_s"] > 0 if records[-1]["kind"] == "summary" else True


def test_grpo_with_lora_keeps_the_reference_in_the_adapter_off_base_and_syncs_merged_weights(
        tmp_path, tiny_model_dir, ray_local):
    """The GPU recipe's GRPO (qwen3-0.6b: grpo.lora.enabled): the reference policy is the starting model with
    the adapter disabled (no second model in memory), rollout engines get base + merged LoRA deltas, and
    <run>/model is the merged model, with nothing but projection weights changed."""
    from fcray.grpo.train import run_grpo
    from tests.weights import changed_weights

    overrides = [f"workdir={tmp_path}", "data.num_examples=120", f"grpo.model_path={tiny_model_dir}",
                 "grpo.per_device_train_batch_size=8", "grpo.gradient_accumulation_steps=1",
                 "grpo.max_completion_length=16", "grpo.save_steps=100", "grpo.max_steps=2",
                 "grpo.ray_train.num_workers=2", "grpo.num_engines=1", "grpo.beta=0.01", "grpo.learning_rate=1e-3",
                 "grpo.lora.enabled=true", "grpo.lora.r=8", "grpo.lora.alpha=16",
                 "tracking.report_to=[tensorboard,mlflow]", "tracking.experiment=grpo-test"]
    result = run_grpo(load_config("tiny", overrides=overrides), "grpo-lora")
    assert result.error is None and result.metrics["step"] == 2
    run_dir = tmp_path / "runs" / "grpo-lora"
    # MLflow beside TensorBoard: the run's reward components and fcray's sync time, read back by MLflow's client.
    runs = mlflow_runs(f"sqlite:///{tmp_path}/mlflow.db", "grpo-test")
    assert list(runs) == ["grpo-lora"]
    for key in ("reward", "rewards/fcray_parse/mean", "kl", "time/sync_s", "time/rollout_s"):
        assert [step for step, _ in runs["grpo-lora"][key]] == [1, 2], key
    assert len(event_files(run_dir / "tensorboard")) == 1
    steps = [r for r in (json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines())
             if r["kind"] == "step"]
    assert [r["step"] for r in steps] == [1, 2]
    assert all(r.get("kl") is not None for r in steps)  # the adapter-off reference is computed
    assert steps[1]["time/sync_s"] > 0  # merged LoRA weights sent to the engine before step 2

    model_dir = run_dir / "model"
    assert not list(model_dir.glob("adapter_*")), "the exported model must be merged, not an adapter"
    changed, linear = changed_weights(tiny_model_dir, model_dir)
    # Random weights earn the same reward on every completion of a group (zero advantage), so the adapter may
    # not move in 2 steps; what must hold is that nothing outside the adapted projections does.
    assert changed <= linear, sorted(changed - linear)[:6]


def test_grpo_without_a_kl_term_skips_flat_micro_batches_on_both_workers(tmp_path, tiny_model_dir, ray_local):
    """grpo.skip_flat_groups with beta 0: a micro-batch whose groups each earned one reward on both workers
    skips its pass (the random-init model's groups mostly do), and the 2-worker run finishes (the workers
    agree on each skip, and a skipping worker still reaches DDP's all-reduce) with the share logged."""
    from fcray.grpo.train import run_grpo

    overrides = [f"workdir={tmp_path}", "data.num_examples=120", f"grpo.model_path={tiny_model_dir}",
                 "grpo.per_device_train_batch_size=8", "grpo.gradient_accumulation_steps=2",
                 "grpo.max_completion_length=16", "grpo.save_steps=100", "grpo.max_steps=2", "grpo.beta=0", "grpo.skip_flat_groups=true",
                 "grpo.ray_train.num_workers=2", "grpo.num_engines=1"]
    result = run_grpo(load_config("tiny", overrides=overrides), "grpo-skip")
    assert result.error is None and result.metrics["step"] == 2
    steps = [r for r in (json.loads(line) for line in
                         (tmp_path / "runs" / "grpo-skip" / "metrics.jsonl").read_text().splitlines())
             if r["kind"] == "step"]
    assert [r["step"] for r in steps] == [1, 2]
    for r in steps:  # the share of rank 0's micro-batches that skipped, and TRL's share of flat groups
        assert 0.0 <= r["frac_micro_batches_skipped"] <= 1.0 and r.get("frac_reward_zero_std") is not None, r
