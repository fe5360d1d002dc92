"""The main job's console: one line per stage start and end, progress of long loops, the key figures.

Everything else a stage prints — ``ray job submit``'s own lines, Ray Train and vLLM logs, library progress
bars, warnings — goes to that stage's log file in the run folder (``<workdir>/logs/<n>-<stage>.log``), which
the console names. ``verbose=True`` echoes all of it to the console as well, as before.

A stage runs either as a submitted job (:meth:`Console.job`: its log lines are read as they come, marker
lines from :mod:`fcray.progress` drive the progress display) or in this process (:meth:`Stage.quiet`:
this process's stdout and stderr, file descriptors included, go to the log file while the block runs).

Estimates come from the same stages' times in an earlier run with the same settings on this machine
(``<FCRAY_CACHE>/timings/``), and, within a stage, from its progress so far.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fcray import progress


class JobFailed(RuntimeError):
    """A submitted stage job exited with an error (its log's end is on the console already)."""


def format_seconds(seconds: float) -> str:
    """``75.2`` → ``'1m15s'``; under a minute with one decimal; hours as ``'1h02m'``.

    >>> format_seconds(4.26), format_seconds(75.2), format_seconds(3725)
    ('4.3s', '1m15s', '1h02m')
    """
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _console_stream(out: IO[str]) -> IO[str]:
    """A stream for the console that keeps reaching the terminal while file descriptors 1 and 2 point at a
    stage's log file: a duplicate of ``out``'s descriptor when it has one (a terminal, a pipe, a file),
    else ``out`` itself (a Python-level capture, as in tests)."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):
        return out
    out.flush()
    return os.fdopen(os.dup(fd), "w", buffering=1, encoding="utf-8", errors="replace")


@dataclass
class _Bar:
    """The progress of one task: a tqdm bar on a terminal, else a line at each quarter."""

    task: str
    total: int
    out: IO[str]             # where a tqdm bar draws (a terminal)
    tty: bool
    say: Any                 # the console's line printer (it counts the lines)
    started: float = field(default_factory=time.time)
    bar: Any = None
    quarter: int = 0
    first: tuple[float, int] | None = None  # (time, done) of the first report: the rate excludes start-up

    def update(self, done: int) -> None:
        if self.first is None:
            self.first = (time.time(), done)
        if self.tty:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=self.total, desc=f"      {self.task}", file=self.out, leave=False,
                                dynamic_ncols=True, mininterval=0.5)
            self.bar.n = done
            self.bar.refresh()
            return
        quarter = (4 * done) // max(self.total, 1)
        if quarter > self.quarter and self.total > 1:
            self.quarter = quarter
            now = time.time()
            elapsed = now - self.started
            rate_done, tail = done - self.first[1], ""
            if done < self.total and rate_done > 0:
                tail = f", ~{format_seconds((now - self.first[0]) / rate_done * (self.total - done))} left"
            text = f"      {self.task}: {done}/{self.total} ({100 * done // self.total}%) in {format_seconds(elapsed)}{tail}"
            self.say(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Stage:
    """One stage of the main job: its log file, its progress display, its time."""

    def __init__(self, console: Console, index: int, name: str, log_path: Path) -> None:
        self.console, self.index, self.name, self.log_path = console, index, name, log_path
        self.log = open(log_path, "a", buffering=1, encoding="utf-8", errors="replace")
        self.started = time.time()
        self._bar: _Bar | None = None
        self._mark = self.started  # when the current task began: the stage's start, or the last task's end

    def line(self, text: str) -> None:
        """One line of the stage's own output: into its log (and on the console when verbose)."""
        parsed = progress.parse(text)
        if parsed is not None:
            self.progress(*parsed)
            return
        text = text if text.endswith("\n") else text + "\n"
        self.log.write(text)
        if self.console.verbose:
            self.console.out.write(text)

    def progress(self, task: str, done: int, total: int) -> None:
        if self.console.verbose:
            return
        if self._bar is None or self._bar.task != task or self._bar.total != total:
            self.close_bar()
            self._bar = _Bar(task, total, self.console.out, self.console.tty, self.console.say, started=self._mark)
        self._bar.update(done)

    def close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._mark = time.time()

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Send this process's output (Python's streams and file descriptors 1 and 2, so C libraries and
        logging handlers too) to the stage's log while the block runs; progress reports still show."""
        if self.console.verbose:
            with progress.sink(self.progress):
                yield
            return
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        saved_streams = sys.stdout, sys.stderr
        os.dup2(self.log.fileno(), 1)
        os.dup2(self.log.fileno(), 2)
        sys.stdout = sys.stderr = self.log
        try:
            with progress.sink(self.progress):
                yield
        finally:
            self.log.flush()
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)

    def tail(self, lines: int = 25) -> str:
        self.log.flush()
        return "".join(self.log_path.read_text(errors="replace").splitlines(keepends=True)[-lines:])


class Console:
    """What a person running the main job sees (see the module docstring)."""

    def __init__(self, workdir: Path, total_stages: int, verbose: bool = False, settings: Any = None,
                 out: IO[str] | None = None) -> None:
        out = out or sys.stdout
        self.verbose = verbose
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.out = out if verbose else _console_stream(out)
        self.total = total_stages
        self.log_dir = Path(workdir) / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.started = time.time()
        self.times: dict[str, float] = {}
        self.lines = 0  # console lines printed by say() (progress lines are counted by their bars)
        key = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]
        from fcray.model.tiny import cache_root

        self._timings_path = cache_root() / "timings" / f"demo-{key}.json"
        try:
            self.previous: dict[str, float] = json.loads(self._timings_path.read_text())
        except (OSError, ValueError):
            self.previous = {}

    def say(self, text: str = "") -> None:
        self.lines += text.count("\n") + 1
        print(text, file=self.out, flush=True)

    def expected_total(self) -> float | None:
        return sum(self.previous.values()) if self.previous else None

    @contextlib.contextmanager
    def stage(self, index: int, name: str, title: str) -> Iterator[Stage]:
        """``[index/total] name: title`` at the start, its time (and log file) at the end; on an error the
        log's last lines, so the cause shows without opening the file."""
        log_path = self.log_dir / f"{index}-{name}.log"
        log_path.unlink(missing_ok=True)
        stage = Stage(self, index, name, log_path)
        estimate = self.previous.get(name)
        self.say(f"[{index}/{self.total}] {name}: {title}"
                 + (f" (last time {format_seconds(estimate)})" if estimate else ""))
        try:
            yield stage
        except BaseException:
            stage.close_bar()
            self.say(f"[{index}/{self.total}] {name}: FAILED after {format_seconds(time.time() - stage.started)}; "
                     f"the end of its log ({log_path}):")
            self.say(stage.tail())
            raise
        finally:
            stage.close_bar()
            stage.log.close()
        seconds = time.time() - stage.started
        self.times[name] = seconds
        self.say(f"[{index}/{self.total}] {name}: done in {format_seconds(seconds)} "
                 f"(total {format_seconds(time.time() - self.started)}) · log: {log_path}")

    def job(self, stage: Stage, head: Any, entrypoint: list[str], working_dir: Path) -> None:
        """``ray job submit`` of ``entrypoint``, its log lines into ``stage``; :class:`JobFailed` when the job
        fails (the stage then shows its log's last lines)."""
        from fcray.cluster import submit_job

        code = submit_job(head, entrypoint, working_dir, on_line=stage.line, env_vars={progress.ENV: "1"})
        if code != 0:
            raise JobFailed(f"the {stage.name} job ({' '.join(entrypoint[1:3])}) exited with {code}; "
                            f"its full log: {stage.log_path}")

    def save_timings(self) -> None:
        """Remember this run's stage times, the next run's estimates."""
        try:
            self._timings_path.parent.mkdir(parents=True, exist_ok=True)
            self._timings_path.write_text(json.dumps(self.times, indent=2) + "\n")
        except OSError:
            pass
