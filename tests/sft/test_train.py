"""SFT on a real local Ray cluster with 2 CPU workers: trains, checkpoints, writes metrics and the model,
and a resubmitted run resumes from its checkpoint."""

from __future__ import annotations

import json

import pytest

from fcray.config import load_config
from tests.tracking_readback import event_files, mlflow_runs, tensorboard_scalars, wandb_offline_runs


RAY_NUM_CPUS = 2  # for the ray_local fixture


@pytest.mark.slow
def test_sft_trains_on_two_workers_and_resumes(tmp_path, tiny_model_dir, ray_local):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fcray.sft.train import run_sft

    overrides = [f"workdir={tmp_path}", "data.num_examples=120", "sft.per_device_train_batch_size=2",
                 "sft.logging_steps=1", "sft.save_steps=2", "sft.max_steps=4", "sft.ray_train.num_workers=2"]
    result = run_sft(load_config("tiny", overrides=overrides), "sft-test")
    assert result.error is None and result.metrics["step"] == 4
    run_dir = tmp_path / "runs" / "sft-test"
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in lines if r["kind"] == "step"]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert [r["kind"] for r in lines].count("summary") == 1 and "train_runtime" in lines[-1]
    for key in ("loss", "mean_token_accuracy", "learning_rate", "tokens_per_s", "tokens_per_s_per_worker"):
        assert all(key in r for r in records[1:]), key
    assert records[-1]["tokens_per_s"] == pytest.approx(2 * records[-1]["tokens_per_s_per_worker"])
    assert (run_dir / "loss.png").read_bytes()[:4] == b"\x89PNG"
    card = (run_dir / "model" / "README.md").read_text()
    assert "## Recipe" in card and "## Export check" in card and '"parse_status"' in card

    # TensorBoard (the default tracker): one event file for 2 workers (rank 0 logs), TRL's and fcray's figures.
    assert len(event_files(run_dir / "tensorboard")) == 1
    scalars = tensorboard_scalars(run_dir / "tensorboard")
    for tag in ("train/loss", "train/learning_rate", "train/mean_token_accuracy", "train/tokens_per_s"):
        assert [step for step, _ in scalars[tag]][-3:] == [2, 3, 4], tag
    assert scalars["train/tokens_per_s"][-1][1] == pytest.approx(records[-1]["tokens_per_s"], rel=1e-5)

    model = AutoModelForCausalLM.from_pretrained(run_dir / "model")
    tokenizer = AutoTokenizer.from_pretrained(run_dir / "model")
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(tiny_model_dir).chat_template
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    out = model.generate(**prompt, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 3 or int(out[0, -1]) in model.generation_config.eos_token_id
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert not torch.equal(base.model.embed_tokens.weight, model.model.embed_tokens.weight)  # it trained

    # The same run name again, with more steps: continues from the step-4 checkpoint, not from scratch.
    resumed = run_sft(load_config("tiny", overrides=[*overrides[:-2], "sft.max_steps=6", "sft.ray_train.num_workers=2"]),
                      "sft-test")
    assert resumed.error is None and resumed.metrics["step"] == 6
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "step"] == [1, 2, 3, 4, 5, 6]


@pytest.mark.slow
def test_sft_with_lora_and_assistant_only_loss_exports_the_merged_adapter(tmp_path, tiny_model_dir, ray_local,
                                                                         monkeypatch):
    """The recipe a GPU user runs (qwen3-0.6b: LoRA on all linear layers, loss on assistant tokens only), on
    2 Ray Train workers: only the adapter trains and <run>/model holds it merged into the base weights.
    Logged to MLflow and to W&B (offline: set in the driver only, it reaches the worker that logs)."""
    from fcray.sft.train import run_sft
    from tests.weights import changed_weights

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_DIR", raising=False)

    overrides = [f"workdir={tmp_path}", "data.num_examples=120", "sft.per_device_train_batch_size=2",
                 "sft.logging_steps=1", "sft.save_steps=100", "sft.max_steps=3", "sft.ray_train.num_workers=2",
                 "sft.lora.enabled=true", "sft.lora.r=8", "sft.lora.alpha=16", "sft.assistant_only_loss=true",
                 "sft.report_to=[mlflow,wandb]"]
    result = run_sft(load_config("tiny", overrides=overrides), "sft-lora")
    assert result.error is None and result.metrics["step"] == 3
    run_dir = tmp_path / "runs" / "sft-lora"
    # MLflow (the workdir's SQLite store): one run, named after fcray's run, with TRL's and fcray's figures.
    runs = mlflow_runs(f"sqlite:///{tmp_path}/mlflow.db", "fcray-tiny")
    assert list(runs) == ["sft-lora"]
    for key in ("loss", "learning_rate", "tokens_per_s", "tokens_per_s_per_worker"):
        assert [step for step, _ in runs["sft-lora"][key]][-2:] == [2, 3], key
    assert not (run_dir / "tensorboard").exists()  # sft.report_to replaced the default
    # W&B: one offline run in the run folder (rank 0 only), the same figures under TRL's W&B names
    wandb_runs = wandb_offline_runs(run_dir / "wandb")
    assert list(wandb_runs) == ["sft-lora"], wandb_runs.keys()
    for key in ("train/loss", "train/learning_rate", "train/tokens_per_s", "train/tokens_per_s_per_worker"):
        assert len(wandb_runs["sft-lora"].get(key, [])) >= 2, (key, sorted(wandb_runs["sft-lora"]))
    model_dir = run_dir / "model"
    assert not list(model_dir.glob("adapter_*")), "the exported model must be merged, not an adapter"
    card = (model_dir / "README.md").read_text()
    assert '"assistant_only_loss": true' in card and '"r": 8' in card

    changed, linear = changed_weights(tiny_model_dir, model_dir)
    assert changed == linear, ("LoRA on all-linear changes exactly the projection weights; differs in: "
                               f"{sorted(changed ^ linear)[:6]}")
