"""A full disk under Ray Train's checkpoints: the run stops with an error naming where, why, what is kept and
how to resume; the earlier checkpoint stays intact, and once there is space the same run name resumes from it
(even though the full disk cut Ray's own list of checkpoints)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_a_full_checkpoint_disk_stops_sft_with_a_clear_error_and_the_resubmitted_run_resumes(tmp_path, tiny_model_dir):
    """A real full disk: a 72 MiB tmpfs (one checkpoint of the tiny model with its optimizer state is ~50 MB)
    in a mount namespace of its own (``unshare -rm``), with a local Ray cluster started inside it."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.fail("no unprivileged mount namespace here (unshare -rm): cannot make a small disk")
    repo = Path(__file__).resolve().parents[2]
    storage, workdir = tmp_path / "storage", tmp_path / "work"
    storage.mkdir()
    script = (f'mount -t tmpfs -o size=72m fcray-full "{storage}" && '
              f'exec "{sys.executable}" tests/sft/full_disk_sft.py "{storage}" "{workdir}"')
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=repo, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PYTHONPATH": str(repo)})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    error = seen["error"]
    assert error is not None and "No space left on device" in error, seen
    assert f"{storage}/sft-full-disk" in error and "sft.ray_train.storage_path" in error and "same run name" in error
    assert [step for _, step in seen["kept"]] == [2], seen  # the step-2 checkpoint; step 4's did not fit
    assert len(seen["folders"]) >= 2, seen  # copies of step 4 cut short (one per attempt) are there, not kept
    # Ray 2.60 rewrites its checkpoint list in place: the full disk left it empty (a resubmission would not
    # start); fcray sets it aside and resumes from the newest complete checkpoint
    assert seen["snapshot_set_aside"] is (seen["snapshot_bytes"] == 0), seen
    assert f"{seen['kept'][0][0]} (step 2)" in error and "resumes from step 2" in error
    # the resubmission continued from step 2 (steps 1-2 are not trained again) and finished the run
    assert seen["resumed_step"] == 6 and seen["model"]
    assert seen["steps_logged"][-4:] == [3, 4, 5, 6] and seen["steps_logged"].count(1) == 1, seen
