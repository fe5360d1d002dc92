"""The one Ray Train launcher of SFT and GRPO (:func:`launch`), and what every worker does around a
Hugging Face / TRL trainer: resume and final report.

SFT and GRPO workers both build a TRL trainer, wrap it with Ray's ``prepare_trainer`` and report checkpoints
with ``RayTrainReportCallback``; :func:`fit_and_report` then resumes from Ray's latest checkpoint when there
is one (a restarted worker group, or a resubmitted run name) and, at the end, reports the final weights as
a Ray checkpoint (folder ``final/``, plus the trainer state so the run name can be continued with more
steps), so the driver finds them on any storage (local disk, shared file system or cloud).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

FINAL_WEIGHTS = "final"  # folder in the last Ray checkpoint of a run: the trained adapter or full weights

# Ray Train 2.60 replaces ``print`` in its workers with one that logs every call through Train's logger and,
# when ``sys.stdout`` is redirected, also prints it. ``datasets`` fingerprints a ``map`` function with dill,
# whose ``detect.nestedglobals`` disassembles it into a captured ``sys.stdout``: with the patch, every bytecode
# line of that listing reached the console (977 lines in one demo), and each worker print came out twice.
# Workers keep Python's own ``print``; their output still reaches the job log through Ray's stdout capture.
WORKER_RUNTIME_ENV = {"env_vars": {"RAY_TRAIN_ENABLE_PRINT_PATCH": "0"}}


def prepare(trainer: Any, progress_task: str) -> Any:
    """Ray's checkpoint reporting and ``prepare_trainer``, plus step progress for the console
    (:mod:`fcray.progress`, e.g. ``progress_task="sft steps"``)."""
    from ray.train.huggingface.transformers import RayTrainReportCallback, prepare_trainer

    from fcray.progress import trainer_callback

    trainer.add_callback(RayTrainReportCallback())
    trainer.add_callback(trainer_callback(progress_task))
    return prepare_trainer(trainer)


def fit_and_report(trainer: Any) -> None:
    """Train (resuming if Ray has a checkpoint for this run), then report the final weights (rank 0 saves)."""
    import ray.train
    from ray.train.huggingface.transformers import RayTrainReportCallback
    from transformers.trainer_utils import get_last_checkpoint

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:  # a restarted worker group, or a resubmitted run: continue where it stopped
        with checkpoint.as_directory() as directory:
            state = os.path.join(directory, RayTrainReportCallback.CHECKPOINT_NAME)
            if not os.path.isdir(state):
                raise RuntimeError(f"checkpoint {checkpoint.path} has no trainer state ('{RayTrainReportCallback.CHECKPOINT_NAME}/'); "
                                   f"start a new run name instead of resuming this one")
            trainer.train(resume_from_checkpoint=state)
    else:
        trainer.train()

    with tempfile.TemporaryDirectory() as directory:
        report_checkpoint = None
        if ray.train.get_context().get_world_rank() == 0:
            final = Path(directory) / FINAL_WEIGHTS
            trainer.model.save_pretrained(final)
            trainer.processing_class.save_pretrained(final)
            last = get_last_checkpoint(trainer.args.output_dir)
            if last is not None:
                shutil.copytree(last, Path(directory) / RayTrainReportCallback.CHECKPOINT_NAME)
            report_checkpoint = ray.train.Checkpoint.from_directory(directory)
        metrics: dict[str, Any] = {}
        for log in trainer.state.log_history:  # the latest value of every logged metric, as Ray's callback does
            metrics.update(log)
        ray.train.report({**metrics, "step": trainer.state.global_step, "final": True}, checkpoint=report_checkpoint)


def launch(train_func: Any, job: Any, settings: Any, run_name: str, storage_path: str,
           export: Any = None) -> Any:
    """Run ``train_func`` on Ray Train workers — the one launcher of SFT and GRPO.

    ``settings`` is the stage's :class:`fcray.config.RayTrainConfig` (``sft.ray_train``, ``grpo.ray_train``);
    ``job`` reaches every worker as ``config["job"]``.
    Checkpoints go to ``<storage_path>/<run_name>``: a restarted worker group (``max_failures``) or a
    resubmitted run name resumes from the latest one (:func:`fit_and_report`). On success, ``export`` gets
    the folder of the final weights (``final/`` of the last checkpoint) and the final metrics.
    """
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    trainer = TorchTrainer(
        train_func,
        train_loop_config={"job": job},
        scaling_config=ScalingConfig(num_workers=settings.num_workers, use_gpu=settings.use_gpu,
                                     resources_per_worker={"CPU": settings.cpus_per_worker}),
        run_config=RunConfig(
            name=run_name,
            storage_path=storage_path,
            checkpoint_config=CheckpointConfig(num_to_keep=settings.num_to_keep),
            failure_config=FailureConfig(max_failures=settings.max_failures),
            worker_runtime_env=WORKER_RUNTIME_ENV,
        ),
    )
    result = trainer.fit()
    if export is not None:
        export_result(result, export)
    return result


def export_result(result: Any, export: Any) -> None:
    """``export(final weights folder, final metrics)`` of a successful run (nothing for a failed one)."""
    if result.error is None:
        with result.checkpoint.as_directory() as directory:
            export(Path(directory) / FINAL_WEIGHTS, result.metrics)
