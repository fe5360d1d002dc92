"""The main job's console: stage lines on the console, everything else in the stage's log file."""

from __future__ import annotations

import logging
import os
import sys

import pytest

from fcray import progress
from fcray.console import Console, JobFailed, format_seconds


@pytest.fixture()
def console_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FCRAY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "console.txt"


def _console(tmp_path, out, verbose=False, settings=None) -> Console:
    return Console(tmp_path / "work", 2, verbose=verbose, settings=settings or {"k": 1}, out=out)


def test_in_process_output_goes_to_the_stage_log_and_stage_lines_to_the_console(tmp_path, console_file):
    with open(console_file, "w") as out:
        console = _console(tmp_path, out)
        with console.stage(1, "data", "canonical examples") as stage:
            with stage.quiet():
                print("python print")
                sys.stderr.write("python stderr\n")
                os.write(1, b"fd 1 from a C library\n")
                os.write(2, b"fd 2 from a C library\n")
                logging.getLogger("fcray-test").warning("a library warning")
                progress.report("eval base", 1, 1)
            console.say("      a key figure")
    shown = console_file.read_text()
    log = (tmp_path / "work" / "logs" / "1-data.log").read_text()
    for text in ("python print", "python stderr", "fd 1 from a C library", "fd 2 from a C library"):
        assert text in log and text not in shown
    assert shown.splitlines()[0] == "[1/2] data: canonical examples"
    assert "      a key figure" in shown
    assert shown.splitlines()[-1].startswith("[1/2] data: done in ") and "1-data.log" in shown
    os.write(1, b"")  # descriptors 1 and 2 are this process's own again
    assert sys.stdout is not stage.log


def test_job_lines_are_logged_and_markers_drive_progress_at_each_quarter(tmp_path, console_file):
    with open(console_file, "w") as out:
        console = _console(tmp_path, out)
        with console.stage(2, "sft", "training") as stage:
            stage.line("2026-12-01 INFO cli.py:67 -- Job 'raysubmit_x' submitted successfully\n")
            for step in range(1, 101):
                stage.line(f'(RayTrainWorker pid=1) {progress.MARKER}{{"task": "sft steps", "done": {step}, "total": 100}}\n')
    shown = console_file.read_text().splitlines()
    progress_lines = [line for line in shown if "sft steps:" in line]
    assert [line.split(":")[1].split()[0] for line in progress_lines] == ["25/100", "50/100", "75/100", "100/100"]
    assert "left" in progress_lines[1] and "left" not in progress_lines[-1]
    log = (tmp_path / "work" / "logs" / "2-sft.log").read_text()
    assert "submitted successfully" in log and progress.MARKER not in log
    assert not any("submitted successfully" in line for line in shown)


def test_verbose_echoes_everything(tmp_path, console_file):
    with open(console_file, "w") as out:
        console = _console(tmp_path, out, verbose=True)
        with console.stage(1, "data", "x") as stage:
            stage.line("vLLM INFO something\n")
    assert "vLLM INFO something" in console_file.read_text()


def test_a_failing_stage_shows_the_end_of_its_log(tmp_path, console_file):
    with open(console_file, "w") as out:
        console = _console(tmp_path, out)
        with pytest.raises(JobFailed):
            with console.stage(1, "sft", "training") as stage:
                stage.line("Traceback (most recent call last):\n")
                stage.line("ValueError: the reason\n")
                raise JobFailed("the sft job exited with 1")
    shown = console_file.read_text()
    assert "[1/2] sft: FAILED after" in shown and "ValueError: the reason" in shown


def test_stage_times_become_the_next_runs_estimates(tmp_path, console_file):
    with open(console_file, "w") as out:
        first = _console(tmp_path, out)
        with first.stage(1, "data", "x"):
            pass
        first.save_timings()
        second = _console(tmp_path, out)
        other = _console(tmp_path, out, settings={"k": 2})  # other settings: no estimate
        assert second.expected_total() == pytest.approx(first.times["data"]) and other.expected_total() is None
        with second.stage(1, "data", "x"):
            pass
    assert "(last time " in console_file.read_text().splitlines()[-2]


@pytest.mark.parametrize("seconds, text", [(0.04, "0.0s"), (59.94, "59.9s"), (61, "1m01s"), (3600, "1h00m")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text
