"""What every fcray Ray Train worker does around a Hugging Face / TRL trainer: resume and final report.

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
