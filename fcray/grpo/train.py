"""GRPO on Ray: Ray Train policy workers running TRL's GRPOTrainer, rollouts from vLLM engine actors.

The driver (:func:`run_grpo`) starts the rollout engines (:class:`fcray.engine.vllm_pool.RolloutPool`), then a
``TorchTrainer`` whose workers (:func:`train_func`) each build TRL's ``GRPOTrainer`` with a ``rollout_func``
(:class:`PoolRollout`) that sends the worker's prompts to the engines. TRL does the rest of GRPO — group-
normalised advantages, the clipped objective and its loss variants, the KL to the reference model (with
LoRA: the policy with its adapter disabled) — on the completions, token ids and log-probabilities the
engines return. Rewards are fcray.toolcall's components, weighted as ``grpo.reward_weights`` says.

After every optimizer step, the first rollout of the next step sends the new weights to the engines
(rank 0, through Ray's object store; :mod:`fcray.engine.weight_sync`) before any worker generates. Engines
that were restarted are detected by their weight version and re-synced by whichever worker meets them.

Checkpoints and resume work as for SFT: Ray's ``RayTrainReportCallback`` reports each TRL checkpoint,
``FailureConfig`` restarts a failed worker group, and ``train_func`` resumes from the latest checkpoint (also
when the same run name is submitted again).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fcray import tracking as tracking_lib
from fcray import workdir as workdir_layout
from fcray.model.lora import peft_lora_config
from fcray.config import DecodingConfig, FcrayConfig, GRPOConfig
from fcray.grpo.metrics import PhaseTimer, metrics_callback, timed_reward
from fcray.engine.vllm_pool import RolloutPool, Sampling

# Components always scored (weight 0 unless configured) so each step logs them: the parse rate and the
# exact-match rate are the two numbers a user watches first.
LOGGED_COMPONENTS = ("parse", "match")


@dataclass
class GRPOJob:
    """Everything a policy worker needs, passed as one object across the Ray boundary."""

    grpo: GRPOConfig
    model_path: str
    train_path: str
    run_dir: str
    pool: RolloutPool
    dtype: str = "float32"
    enable_thinking: bool = False
    decoding: DecodingConfig | None = None  # constrained: rollouts decode with the tool-call grammar
    tracking: tracking_lib.Tracking | None = None  # where rank 0 logs besides metrics.jsonl (None: nowhere)


def _sample_seed(seed: int, step: int, rank: int, index: int) -> int:
    return (seed * 1_000_003 + step * 10_007 + rank * 1_009 + index) % (2**31 - 1)


class PoolRollout:
    """TRL ``rollout_func``: one completion per prompt it receives (TRL's sampler already repeats each prompt
    ``num_generations`` times), from the engines, with weights of the trainer's current step."""

    def __init__(self, pool: RolloutPool, tokenizer: Any, grpo: GRPOConfig, timer: PhaseTimer,
                 grammars: dict[str, str | None] | None = None) -> None:
        self.pool, self.tokenizer, self.grpo, self.timer = pool, tokenizer, grpo, timer
        self.grammars = grammars or {}  # prompt text -> its tool-call grammar (decoding.constrained)
        self.sampling = Sampling(temperature=grpo.temperature, top_p=grpo.top_p, top_k=grpo.top_k,
                                 max_tokens=grpo.max_completion_length)
        self.synced_step: int | None = None
        self.drawn = 0  # completions drawn so far in this step (several rollout calls per step: distinct seeds)

    def current_weights(self, trainer: Any):
        from fcray.engine.weight_sync import policy_weights

        return policy_weights(trainer.model)

    def sync(self, trainer: Any) -> None:
        """Before the first rollout of a step: rank 0 sends the weights, every rank waits for it."""
        import torch.distributed as dist

        step = trainer.state.global_step
        if step == self.synced_step:
            return
        self.drawn = 0
        if step > 0:  # step 0: the engines loaded the same starting weights from disk
            start = time.perf_counter()
            if trainer.accelerator.process_index == 0:
                self.pool.sync(self.current_weights(trainer), step)
            if dist.is_available() and dist.is_initialized():
                dist.barrier()
            self.timer.add("sync", time.perf_counter() - start)
        self.synced_step = step

    def __call__(self, prompts: list[str], trainer: Any) -> dict[str, Any]:
        if prompts and not isinstance(prompts[0], str):
            raise TypeError("fcray's GRPO data holds rendered prompt text; got conversational prompts")
        self.sync(trainer)
        step, rank = trainer.state.global_step, trainer.accelerator.process_index
        prompt_ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        seeds = [_sample_seed(self.grpo.seed, step, rank, self.drawn + i) for i in range(len(prompts))]
        self.drawn += len(prompts)
        grammars = [self.grammars.get(p) for p in prompts] if self.grammars else None
        completions, stats = self.pool.generate(prompt_ids, self.sampling, seeds, version=step,
                                                current_weights=lambda: self.current_weights(trainer), offset=rank,
                                                grammars=grammars)
        self.timer.add("rollout", stats.seconds, stats.completion_tokens)
        self.timer.add("resync", 0.0, stats.resyncs)
        return {"prompt_ids": [c.prompt_ids for c in completions],
                "completion_ids": [c.completion_ids for c in completions],
                "logprobs": [c.logprobs for c in completions]}


def reward_setup(weights: dict[str, float], timer: PhaseTimer) -> tuple[list[Any], list[float]]:
    """fcray's reward functions for TRL with their weights; always-logged components get weight 0."""
    from fcray.toolcall.reward import trl_reward_funcs

    full = {**{name: 0.0 for name in LOGGED_COMPONENTS if name not in weights}, **weights}
    funcs, values = trl_reward_funcs(full)
    return [timed_reward(f, timer) for f in funcs], values


def trl_grpo_args(grpo: GRPOConfig, reward_weights: list[float], dtype: str, world_size: int,
                  tracking: tracking_lib.Tracking | None = None):
    """TRL's ``GRPOConfig`` for fcray's ``grpo`` settings (one place maps fcray's names onto TRL's)."""
    from trl import GRPOConfig as TRLGRPOConfig

    return TRLGRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="fcray-grpo-"),
        per_device_train_batch_size=grpo.per_device_train_batch_size,
        gradient_accumulation_steps=grpo.gradient_accumulation_steps,
        steps_per_generation=grpo.steps_per_generation,
        num_generations=grpo.num_generations,
        max_completion_length=grpo.max_completion_length,
        temperature=grpo.temperature, top_p=grpo.top_p, top_k=grpo.top_k,
        learning_rate=grpo.learning_rate,
        lr_scheduler_type=grpo.lr_scheduler_type, warmup_steps=grpo.warmup_steps,
        beta=grpo.beta, loss_type=grpo.loss_type, epsilon=grpo.epsilon,
        reward_weights=reward_weights,
        max_steps=grpo.max_steps,
        logging_steps=grpo.logging_steps,
        save_strategy="steps", save_steps=grpo.save_steps,
        seed=grpo.seed,
        bf16=dtype == "bfloat16" and grpo.ray_train.use_gpu,
        report_to=tracking.trl_report_to() if tracking else "none",
        run_name=tracking.run_name if tracking else None,
        use_cpu=not grpo.ray_train.use_gpu,
        ddp_backend="gloo" if world_size > 1 and not grpo.ray_train.use_gpu else None,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )


def build_trainer(job: GRPOJob, world_size: int):
    """TRL's GRPOTrainer for ``job``, generating through the job's rollout engines."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fcray.data.io import load_examples
    from fcray.grpo.data import grpo_dataset, prompt_rows
    from fcray.grpo.trainer import grpo_trainer_class

    grpo = job.grpo
    if not grpo.ray_train.use_gpu:
        torch.set_num_threads(grpo.ray_train.cpus_per_worker)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is experimental in TRL 1.16
    tokenizer = AutoTokenizer.from_pretrained(job.model_path)
    model = AutoModelForCausalLM.from_pretrained(job.model_path, dtype=getattr(torch, job.dtype))
    prompts = prompt_rows(load_examples(job.train_path), tokenizer, grpo.max_prompt_length, job.enable_thinking)
    if prompts.skipped_too_long:  # left out, never cut: say how many and which
        skipped = Path(job.run_dir) / "skipped_prompts.json"
        skipped.write_text(json.dumps({"max_prompt_length": grpo.max_prompt_length,
                                       "ids": prompts.skipped_too_long}, indent=1) + "\n")
        print(f"fcray grpo: {len(prompts.skipped_too_long)} of {len(prompts.rows) + len(prompts.skipped_too_long)} "
              f"training prompts are longer than grpo.max_prompt_length={grpo.max_prompt_length} tokens and are "
              f"left out (ids in {skipped})")
    peft_config = peft_lora_config(grpo.lora)
    timer = PhaseTimer()
    reward_funcs, reward_weights = reward_setup(grpo.reward_weights, timer)
    tracking = job.tracking or tracking_lib.Tracking()
    args = trl_grpo_args(grpo, reward_weights, job.dtype, world_size, tracking)
    with tracking_lib.trainer_construction(tracking):
        trainer = grpo_trainer_class()(model=model, reward_funcs=reward_funcs, args=args,
                                       train_dataset=grpo_dataset(prompts), processing_class=tokenizer,
                                       peft_config=peft_config,
                                       rollout_func=PoolRollout(job.pool, tokenizer, grpo, timer,
                                                                rollout_grammars(prompts, job)),
                                       skip_flat_groups=grpo.skip_flat_groups)
    tracking_lib.add_first(trainer, metrics_callback(job.run_dir, timer))
    tracking_lib.add_first(trainer, tracking_lib.trainer_callback(tracking))
    return trainer


def rollout_grammars(prompts: Any, job: GRPOJob) -> dict[str, str | None]:
    """Each training prompt's tool-call grammar when ``job.decoding`` is constrained (else none): the
    rollouts then only sample answers that parse and fit an offered tool, and their log-probabilities are
    those of the constrained distribution (which the trainer's policy, unconstrained, does not share)."""
    from fcray.toolcall.grammar import grammar_for

    if job.decoding is None or not job.decoding.constrained:
        return {}
    return {row["prompt"]: grammar_for(json.loads(row["tools"]), job.decoding, job.enable_thinking)
            for row in prompts.rows}


def train_func(config: dict[str, Any]) -> None:
    """Runs in every Ray Train worker."""
    import ray.train

    from fcray.ray_trainer import fit_and_report, prepare

    job: GRPOJob = config["job"]
    fit_and_report(prepare(build_trainer(job, ray.train.get_context().get_world_size()), "grpo steps"), config)


def starting_model(config: FcrayConfig) -> str:
    """``grpo.model_path``, else the merged model of this preset's SFT run."""
    if config.grpo.model_path:
        from fcray.model.tiny import resolve_model_path

        return resolve_model_path(config.grpo.model_path, config.model.tiny)
    sft_model = workdir_layout.run_dir(config, "sft") / "model"
    if not (sft_model / "config.json").exists():
        raise FileNotFoundError(f"GRPO starts from the SFT model, and {sft_model} has none: run `fcray sft --preset "
                                f"{config.preset}` first, or set grpo.model_path to a model folder or Hub id")
    return str(sft_model)


def cpus_needed(grpo: GRPOConfig) -> int:
    """Logical CPUs a GRPO run reserves: its policy workers plus its rollout engines."""
    return int(grpo.ray_train.num_workers * grpo.ray_train.cpus_per_worker + grpo.num_engines * grpo.engine.cpus)


def run_grpo(config: FcrayConfig, run_name: str | None = None):
    """Launch GRPO for ``config`` on the current Ray cluster (a local one is started if none is running)."""
    from fcray.cluster import connect
    from fcray.data.pipeline import ensure_dataset
    from fcray.engine.vllm_pool import EngineSpec
    from fcray.ray_trainer import export_result, launch

    workdir = workdir_layout.root(config)
    train_path = ensure_dataset(config.data, workdir) / "train.jsonl"
    model_path = starting_model(config)
    run_name = run_name or workdir_layout.default_run_name(config, "grpo")
    run_dir = workdir_layout.run_dir(config, "grpo", run_name)
    run_dir.mkdir(parents=True, exist_ok=True)
    grpo = config.grpo
    tracking = tracking_lib.resolve(config, grpo.report_to, run_dir / "tensorboard", run_name)
    tracking.require()
    connect(cpus_needed(grpo))
    pool = RolloutPool.create(EngineSpec.from_config(grpo.engine, model_path, grpo.seed), grpo.num_engines,
                              max_restarts=grpo.max_engine_restarts, name_prefix=f"fcray-rollout-{run_name}")
    job = GRPOJob(grpo=grpo, model_path=model_path, train_path=str(train_path), run_dir=str(run_dir), pool=pool,
                  dtype=config.model.dtype, enable_thinking=config.model.enable_thinking, decoding=config.decoding,
                  tracking=tracking)
    try:
        storage = grpo.ray_train.storage_path or str(workdir_layout.ray_results_dir(config))
        result = launch(train_func, job, grpo.ray_train, run_name, storage, stage="grpo")
    finally:
        pool.shutdown()  # before the export: the engines' CPUs go to merging and checking the model
    export_result(result, lambda final, metrics: export_run(config, final, run_dir, model_path, metrics))
    return result


def export_run(config: FcrayConfig, final: Path, run_dir: Path, start_model: str,
               metrics: dict[str, Any] | None) -> Path:
    """``<run_dir>/model`` (model "C", LoRA merged), its card and the run's curves."""
    import dataclasses

    from fcray.data.pipeline import probe_example
    from fcray.grpo.metrics import write_curves
    from fcray.model.card import hub_datasets
    from fcray.model.export import export_model

    out = export_model(final, run_dir, start_model, probe_example(config.workdir),
                       {"start_model": start_model, "grpo": dataclasses.asdict(config.grpo)}, metrics,
                       stage="grpo", root_base=config.model.name_or_path,
                       datasets=hub_datasets(config.data.source, config.data.path))
    write_curves(run_dir)
    return out
