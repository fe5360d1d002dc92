"""SFT on Ray Train: TorchTrainer workers each run TRL's SFTTrainer (optionally with a PEFT LoRA adapter).

The driver (:func:`run_sft`) builds the canonical data if needed, then launches a ``TorchTrainer`` whose
workers (:func:`train_func`) load the tokenizer, the model and the data themselves. TRL's trainer is
wrapped by Ray's ``prepare_trainer`` and reports every checkpoint with Ray's
``RayTrainReportCallback``. Checkpoints land in ``<storage_path>/<run name>``; after a worker failure Ray
restarts the workers (``FailureConfig``) and ``train_func`` resumes from the latest reported checkpoint,
as it does when the same run name is submitted again.

Rank 0 writes ``metrics.jsonl`` (loss, token accuracy, learning rate, tokens/s total and per worker) in
the run folder, logs the same figures to the run's trackers (``sft.report_to``; TensorBoard in
``<run folder>/tensorboard`` by default, fcray.tracking) and, at the end, writes the final model (LoRA merged
into the base) in ``<run folder>/model``.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fcray import tracking as tracking_lib
from fcray import workdir as workdir_layout
from fcray.model.lora import peft_lora_config
from fcray.config import FcrayConfig, SFTConfig
from fcray.sft.mfu import flops_per_token, mfu, peak_flops


@dataclass
class SFTJob:
    """Everything a worker needs, passed as one object across the Ray boundary."""

    sft: SFTConfig
    model_path: str
    train_path: str
    run_dir: str
    dtype: str = "float32"
    tracking: tracking_lib.Tracking = field(default_factory=tracking_lib.Tracking)  # default: no tracker


def _metrics_callback(run_dir: str, world_size: int, flops_per_token: float | None = None,
                      peak_flops: float | None = None):
    from transformers import TrainerCallback

    class MetricsWriter(TrainerCallback):
        """Appends one JSON line per logging step (rank 0), adding throughput (and MFU on GPUs). It runs ahead
        of the trackers' callbacks (tracking.add_first), and the figures it adds to ``logs`` reach them too."""

        def __init__(self) -> None:
            self.last_time = time.time()
            self.last_tokens = 0.0

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            now = time.time()
            # The trainer's end-of-training summary (train_runtime, train_loss, ...) comes through on_log too.
            kind = "summary" if "train_runtime" in logs else "step"
            tokens = logs.get("num_tokens")
            if tokens is not None:
                rate = (tokens - self.last_tokens) / max(now - self.last_time, 1e-9)
                logs["tokens_per_s"] = rate
                logs["tokens_per_s_per_worker"] = rate / world_size
                if flops_per_token and peak_flops:
                    logs["mfu"] = mfu(rate / world_size, flops_per_token, peak_flops)
                self.last_tokens = tokens
            self.last_time = now
            record = {"kind": kind, "step": state.global_step, "epoch": state.epoch, "time": now, **logs}
            with open(Path(run_dir) / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    return MetricsWriter()


def build_trainer(job: SFTJob, world_size: int):
    """TRL's SFTTrainer for ``job`` (used by every Ray Train worker, and by the plain-TRL benchmark)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig as TRLSFTConfig
    from trl import SFTTrainer

    from fcray.data.io import load_examples
    from fcray.sft.curriculum import full_phase_steps, training_order
    from fcray.sft.dataset import sft_dataset

    sft = job.sft
    use_gpu = sft.ray_train.use_gpu
    if not use_gpu:
        torch.set_num_threads(sft.ray_train.cpus_per_worker)  # tiny models train fastest with few threads per worker
    tokenizer = AutoTokenizer.from_pretrained(job.model_path)
    model = AutoModelForCausalLM.from_pretrained(job.model_path, dtype=getattr(torch, job.dtype))
    examples = load_examples(job.train_path)
    epochs, sampling = sft.num_train_epochs, "group_by_length" if sft.group_by_length else "random"
    scheduler_kwargs = dict(sft.lr_scheduler_kwargs)
    if sft.schema_free_epochs:
        global_batch = sft.per_device_train_batch_size * sft.gradient_accumulation_steps * world_size
        ordered, warmup_rows = training_order(examples, sft.schema_free_epochs, sft.num_train_epochs, sft.seed,
                                              global_batch, tools=sft.schema_free_tools)
        shown = "with tool names only" if sft.schema_free_tools == "names" else "without tool schemas"
        phases = (f"[fcray sft] schema-free warm-up: {warmup_rows} rows {shown}, then {len(ordered) - warmup_rows} "
                  f"rows with their schemas (~{len(ordered) // global_batch} optimizer steps)")
        examples, epochs, sampling = ordered, 1.0, "sequential"  # the order is the curriculum: one pass, as is
        if sft.lr_scheduler_type == "warmup_stable_decay":
            # hold the rate through the warm-up; decay while the model learns to read the schemas
            scheduler_kwargs.setdefault("num_decay_steps", full_phase_steps(len(ordered), warmup_rows, global_batch))
    train_dataset = sft_dataset(examples)
    peft_config = peft_lora_config(sft.lora)
    args = TRLSFTConfig(
        output_dir=tempfile.mkdtemp(prefix="fcray-sft-"),
        per_device_train_batch_size=sft.per_device_train_batch_size,
        gradient_accumulation_steps=sft.gradient_accumulation_steps,
        learning_rate=sft.learning_rate,
        lr_scheduler_type=sft.lr_scheduler_type,
        lr_scheduler_kwargs=scheduler_kwargs,
        warmup_steps=sft.warmup_ratio,  # transformers 5: a float in [0, 1) is a fraction of all steps
        num_train_epochs=epochs,
        max_steps=sft.max_steps,
        max_length=sft.max_length,
        bf16=sft.bf16,
        assistant_only_loss=sft.assistant_only_loss,
        train_sampling_strategy=sampling,
        packing=sft.packing,
        torch_compile=sft.torch_compile,
        logging_steps=sft.logging_steps,
        save_strategy="steps",
        save_steps=sft.save_steps,
        seed=sft.seed,
        report_to=job.tracking.trl_report_to(),
        run_name=job.tracking.run_name,
        use_cpu=not use_gpu,
        ddp_backend="gloo" if world_size > 1 and not use_gpu else None,  # single process: no DDP
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    with tracking_lib.trainer_construction(job.tracking):
        trainer = SFTTrainer(model=model, args=args, train_dataset=train_dataset, processing_class=tokenizer,
                             peft_config=peft_config)
    if sft.schema_free_epochs and trainer.is_world_process_zero():
        print(phases, flush=True)
    flops, peak = None, None
    if use_gpu and torch.cuda.is_available():
        config = model.config
        embedding = config.vocab_size * config.hidden_size
        n_params = sum(p.numel() for p in model.parameters()) - embedding
        flops = flops_per_token(n_params, config.num_hidden_layers, config.hidden_size, sft.max_length)
        peak = peak_flops(torch.cuda.get_device_name(), job.dtype)
    tracking_lib.add_first(trainer, _metrics_callback(job.run_dir, world_size, flops, peak))
    tracking_lib.add_first(trainer, tracking_lib.trainer_callback(job.tracking))
    return trainer


def train_func(config: dict[str, Any]) -> None:
    """Runs in every Ray Train worker."""
    import ray.train

    from fcray.ray_trainer import fit_and_report, prepare

    job: SFTJob = config["job"]
    fit_and_report(prepare(build_trainer(job, ray.train.get_context().get_world_size()), "sft steps"), config)


def run_sft(config: FcrayConfig, run_name: str | None = None):
    """Launch SFT for ``config`` on the current Ray cluster (a local one is started if none is running)."""
    from fcray.cluster import connect
    from fcray.data.pipeline import ensure_dataset
    from fcray.model.tiny import resolve_model_path
    from fcray.ray_trainer import launch

    workdir = workdir_layout.root(config)
    train_path = ensure_dataset(config.data, workdir) / "train.jsonl"
    run_name = run_name or workdir_layout.default_run_name(config, "sft")
    workers = config.sft.ray_train
    storage = workers.storage_path or str(workdir_layout.ray_results_dir(config))
    run_dir = workdir_layout.run_dir(config, "sft", run_name)
    run_dir.mkdir(parents=True, exist_ok=True)
    tracking = tracking_lib.resolve(config, config.sft.report_to, run_dir / "tensorboard", run_name)
    tracking.require()
    job = SFTJob(sft=config.sft, model_path=resolve_model_path(config.model.name_or_path, config.model.tiny),
                 train_path=str(train_path), run_dir=str(run_dir), dtype=config.model.dtype, tracking=tracking)
    connect(workers.num_workers * workers.cpus_per_worker)
    return launch(train_func, job, workers, run_name, storage,
                  export=lambda final, metrics: export_run(config, final, run_dir, job.model_path, metrics))


def export_run(config: FcrayConfig, final: Path, run_dir: Path, base_model: str,
               metrics: dict[str, Any] | None) -> Path:
    """Merge the run's ``final`` weights into ``<run_dir>/model``, check it, write its card and loss curve."""
    import dataclasses

    from fcray.data.pipeline import probe_example
    from fcray.model.card import hub_datasets
    from fcray.model.export import export_model
    from fcray.sft.inspect import write_loss_curve

    summary = workdir_layout.data_dir(config) / "summary.json"
    out = export_model(final, run_dir, base_model, probe_example(config.workdir),
                       {"base_model": base_model, "sft": dataclasses.asdict(config.sft)}, metrics,
                       json.loads(summary.read_text())["splits"] if summary.exists() else None,
                       stage="sft", root_base=config.model.name_or_path,
                       datasets=hub_datasets(config.data.source, config.data.path))
    write_loss_curve(run_dir)
    return out
