"""The one Ray Train launcher of SFT and GRPO (:func:`launch`), and what every worker does around a
Hugging Face / TRL trainer: resume and final report.

SFT and GRPO workers both build a TRL trainer, wrap it with Ray's ``prepare_trainer`` and report checkpoints
with ``RayTrainReportCallback``; :func:`fit_and_report` then resumes from Ray's latest checkpoint when there
is one (a restarted worker group, or a resubmitted run name) and, at the end, reports the final weights as
a Ray checkpoint (folder ``final/``, plus the trainer state so the run name can be continued with more
steps), so the driver finds them on any storage (local disk, shared file system or cloud).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

FINAL_WEIGHTS = "final"  # folder in the last Ray checkpoint of a run: the trained adapter or full weights
TRAINER_STATE = "checkpoint"  # folder of a Ray checkpoint with the HF trainer state (RayTrainReportCallback's name)
SNAPSHOT = "checkpoint_manager_snapshot.json"  # Ray Train's list of a run's checkpoints, in its storage folder
DISK_FULL = {errno.ENOSPC: "No space left on device", errno.EDQUOT: "Disk quota exceeded"}


class CheckpointWriteError(RuntimeError):
    """A run stopped because its checkpoints could not be written (a full disk, a quota): the message names
    where, what is kept, and how to resume."""

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


def finish_tracker_runs() -> None:
    """Close the W&B run transformers' callback opened (it leaves that to exit hooks): Ray ends a Train
    worker without running them, and W&B's service would lose the run's records (an empty log)."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()


def fit_and_report(trainer: Any, config: dict[str, Any] | None = None) -> None:
    """Train (resuming if Ray has a checkpoint for this run), then report the final weights (rank 0 saves).

    ``config`` is the worker's ``train_loop_config``: when :func:`launch` had to set aside Ray's unreadable
    list of checkpoints (``resume_folder`` given), the run resumes from the newest complete checkpoint
    in its folder instead."""
    import ray.train
    from ray.train.huggingface.transformers import RayTrainReportCallback
    from transformers.trainer_utils import get_last_checkpoint

    checkpoint = ray.train.get_checkpoint()
    resume_folder = (config or {}).get("resume_folder")
    if checkpoint is None and resume_folder:
        kept = kept_checkpoints(Path(resume_folder))
        if kept:
            print(f"fcray: resuming from {kept[-1][0]} (step {kept[-1][1]}), the newest complete checkpoint")
            checkpoint = ray.train.Checkpoint.from_directory(str(Path(resume_folder) / kept[-1][0]))
    if checkpoint is not None:  # a restarted worker group, or a resubmitted run: continue where it stopped
        with checkpoint.as_directory() as directory:
            state = os.path.join(directory, RayTrainReportCallback.CHECKPOINT_NAME)
            if not os.path.isdir(state):
                raise RuntimeError(f"checkpoint {checkpoint.path} has no trainer state ('{RayTrainReportCallback.CHECKPOINT_NAME}/'); "
                                   f"start a new run name instead of resuming this one")
            trainer.train(resume_from_checkpoint=state)
    else:
        trainer.train()
    finish_tracker_runs()

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
           export: Any = None, stage: str = "sft") -> Any:
    """Run ``train_func`` on Ray Train workers — the one launcher of SFT and GRPO.

    ``settings`` is the stage's :class:`fcray.config.RayTrainConfig` (``sft.ray_train``, ``grpo.ray_train``);
    ``job`` reaches every worker as ``config["job"]``.
    Checkpoints go to ``<storage_path>/<run_name>``: a restarted worker group (``max_failures``) or a
    resubmitted run name resumes from the latest one (:func:`fit_and_report`). On success, ``export`` gets
    the folder of the final weights (``final/`` of the last checkpoint) and the final metrics. A run that
    fails because a checkpoint could not be written (full disk, quota) raises :class:`CheckpointWriteError`.
    """
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    loop_config: dict[str, Any] = {"job": job}
    if set_aside_unreadable_snapshot(storage_path, run_name):
        loop_config["resume_folder"] = f"{storage_path.rstrip('/')}/{run_name}"
    trainer = TorchTrainer(
        train_func,
        train_loop_config=loop_config,
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
    try:
        result = trainer.fit()
    except Exception as error:  # Ray Train's TrainingFailedError (a worker group's or the controller's)
        cause = disk_full_cause(error)
        if cause is None:
            raise
        raise CheckpointWriteError(disk_full_message(cause, run_name, storage_path, stage)) from error
    if export is not None:
        export_result(result, export)
    return result


def export_result(result: Any, export: Any) -> None:
    """``export(final weights folder, final metrics)`` of a successful run (nothing for a failed one)."""
    if result.error is None:
        with result.checkpoint.as_directory() as directory:
            export(Path(directory) / FINAL_WEIGHTS, result.metrics)


def disk_full_cause(error: BaseException) -> str | None:
    """The "no space" failure inside a failed Ray Train run (``error``, its causes, the workers' failures,
    the controller's), as its message; None when the run failed for another reason."""
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_FULL:
            return str(current)
        if isinstance(current, BaseException):
            text = str(current)
            for reason in DISK_FULL.values():  # a remote error arrives as text (Ray keeps the traceback)
                for line in text.splitlines():
                    if reason in line:
                        return line.strip()
            pending += [current.__cause__, current.__context__, getattr(current, "controller_failure", None),
                        *(getattr(current, "worker_failures", None) or {}).values()]
    return None


def complete_step(folder: Path) -> int | None:
    """The step of a Ray checkpoint folder whose trainer state is complete, else None (a copy cut short by
    a full disk, or not a trainer checkpoint). Complete: every JSON file parses, every safetensors file is
    as long as its header says, every torch file (``.pt``/``.pth``/``.bin``, zip archives) has its
    central directory — each of which a cut write breaks."""
    import zipfile

    state = folder / TRAINER_STATE
    try:
        step = int(json.loads((state / "trainer_state.json").read_text())["global_step"])
        for path in state.rglob("*"):
            if path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix == ".safetensors":
                with open(path, "rb") as f:
                    size = int.from_bytes(f.read(8), "little")
                    header = json.loads(f.read(size))
                end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
                if path.stat().st_size != 8 + size + end:
                    return None
            elif path.suffix in (".pt", ".pth", ".bin") and not zipfile.is_zipfile(path):
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return step


def kept_checkpoints(run_folder: Path) -> list[tuple[str, int]]:
    """(folder name, step) of each complete checkpoint of a local run folder, oldest step first."""
    kept = [(folder.name, step) for folder in sorted(run_folder.glob("checkpoint_*"))
            if folder.is_dir() and (step := complete_step(folder)) is not None]
    return sorted(kept, key=lambda item: item[1])


def set_aside_unreadable_snapshot(storage_path: str, run_name: str) -> bool:
    """Ray Train writes its list of a run's checkpoints (``checkpoint_manager_snapshot.json``) in place, so
    a full disk can leave it empty, and a resubmitted run then fails to start (Ray 2.60). When it is
    unreadable, move it aside (``.unreadable``) so Ray starts, and return True: the workers then resume
    from the newest complete checkpoint in the run folder (:func:`fit_and_report`). Local storage only."""
    snapshot = Path(storage_path) / run_name / SNAPSHOT
    if "://" in storage_path or not snapshot.exists():
        return False
    try:
        json.loads(snapshot.read_text())
        return False
    except (ValueError, UnicodeDecodeError):
        aside = snapshot.with_name(SNAPSHOT + ".unreadable")
        snapshot.replace(aside)
        print(f"fcray: Ray's list of checkpoints of run '{run_name}' ({snapshot}) is unreadable, most likely cut "
              f"by a full disk; moved it to {aside.name} and resuming from the newest complete checkpoint")
        return True


def disk_full_message(cause: str, run_name: str, storage_path: str, stage: str) -> str:
    where = f"{storage_path.rstrip('/')}/{run_name}"
    message = f"cannot write the checkpoints of run '{run_name}' to {where}: {cause}."
    if "://" not in storage_path:  # a local or mounted folder: say what is kept
        kept = kept_checkpoints(Path(where))
        message += (f" Checkpoints kept: {', '.join(f'{name} (step {step})' for name, step in kept)}; resubmitting "
                    f"resumes from step {kept[-1][1]}." if kept else " No complete checkpoint was kept.")
    return (message + f" Free space there (or set {stage}.ray_train.storage_path to another disk), then submit "
            f"the same command again with the same run name.")
