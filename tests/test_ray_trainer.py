"""The launcher's reading of a failed run: a full disk anywhere in Ray Train's error is told apart from any
other failure, and the message says what is kept. (The real full disk: tests/sft/test_full_disk.py.)"""

from __future__ import annotations

import errno
import json

import pytest

from fcray.ray_trainer import disk_full_cause, disk_full_message, kept_checkpoints


class WorkerGroupError(Exception):  # the shape of Ray Train's: failures by rank
    def __init__(self, message, worker_failures):
        super().__init__(message)
        self.worker_failures = worker_failures


def _chained() -> BaseException:
    try:
        try:
            raise OSError(errno.EDQUOT, "Disk quota exceeded", "/data/ckpt/optimizer.pt")
        except OSError as inner:
            raise RuntimeError("persisting the checkpoint failed") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize("error, expected", [
    (OSError(errno.ENOSPC, "No space left on device", "/s/run/checkpoint_1/model.safetensors"),
     "[Errno 28] No space left on device: '/s/run/checkpoint_1/model.safetensors'"),
    (_chained(), "[Errno 122] Disk quota exceeded: '/data/ckpt/optimizer.pt'"),
    (WorkerGroupError("Training failed due to worker errors", {0: RuntimeError(
        "Traceback (most recent call last):\n  File \"a.py\"\nOSError: [Errno 28] No space left on device")}),
     "OSError: [Errno 28] No space left on device"),
    (WorkerGroupError("Training failed due to worker errors", {0: ValueError("loss is nan")}), None),
    (OSError(errno.EACCES, "Permission denied"), None),
    (RuntimeError("CUDA out of memory"), None),
])
def test_a_full_disk_is_found_wherever_ray_puts_it(error, expected):
    assert disk_full_cause(error) == expected


def test_the_message_lists_the_complete_checkpoints_and_where_to_resume(tmp_path):
    run = tmp_path / "storage" / "sft-x"
    for name, state in [("checkpoint_2026-12-03_10-00-00.1", {"global_step": 2}),
                        ("checkpoint_2026-12-03_10-00-09.2", {"global_step": 4}),
                        ("checkpoint_2026-12-03_10-00-19.3", None)]:  # cut short: no trainer state
        (run / name / "checkpoint").mkdir(parents=True)
        if state is not None:
            (run / name / "checkpoint" / "trainer_state.json").write_text(json.dumps(state))
    assert [step for _, step in kept_checkpoints(run)] == [2, 4]
    message = disk_full_message("[Errno 28] No space left on device", "sft-x", str(tmp_path / "storage"), "grpo")
    assert message.startswith(f"cannot write the checkpoints of run 'sft-x' to {run}: [Errno 28] No space left")
    assert "checkpoint_2026-12-03_10-00-09.2 (step 4)" in message and "resumes from step 4" in message
    assert "grpo.ray_train.storage_path" in message and "same run name" in message
    nothing = disk_full_message("quota", "new", str(tmp_path / "empty"), "sft")
    assert "No complete checkpoint was kept" in nothing
    cloud = disk_full_message("quota", "r", "s3://bucket/runs", "sft")
    assert "s3://bucket/runs/r: quota." in cloud and "kept" not in cloud


def _checkpoint(run, name, step, cut=None):
    """A Ray checkpoint folder holding a trainer state like TRL's: JSON, safetensors and torch zip files;
    ``cut`` names a file to truncate, as a full disk does."""
    import torch
    from safetensors.torch import save_file

    state = run / name / "checkpoint"
    state.mkdir(parents=True)
    (state / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    save_file({"w": torch.ones(64, 64)}, str(state / "model.safetensors"))
    torch.save({"exp_avg": torch.zeros(64, 64)}, state / "optimizer.pt")
    if cut:
        data = (state / cut).read_bytes()
        (state / cut).write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("cut", [None, "model.safetensors", "optimizer.pt", "trainer_state.json"])
def test_a_checkpoint_cut_short_is_not_kept(tmp_path, cut):
    from fcray.ray_trainer import complete_step

    _checkpoint(tmp_path, "checkpoint_1", 4, cut)
    assert complete_step(tmp_path / "checkpoint_1") == (4 if cut is None else None)


@pytest.mark.parametrize("content, set_aside", [("", True), ('{"checkpoint_results": [', True),
                                                 ('{"checkpoint_results": []}', False), (None, False)])
def test_an_unreadable_ray_snapshot_is_set_aside(tmp_path, capsys, content, set_aside):
    from fcray.ray_trainer import SNAPSHOT, set_aside_unreadable_snapshot

    run = tmp_path / "run"
    run.mkdir()
    if content is not None:
        (run / SNAPSHOT).write_text(content)
    assert set_aside_unreadable_snapshot(str(tmp_path), "run") is set_aside
    assert (run / f"{SNAPSHOT}.unreadable").exists() is set_aside
    assert (run / SNAPSHOT).exists() is (content is not None and not set_aside)
    assert ("is unreadable, most likely cut by a full disk" in capsys.readouterr().out) is set_aside
    assert set_aside_unreadable_snapshot("s3://bucket/x", "run") is False
