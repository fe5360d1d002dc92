"""Progress of long loops (data building, training steps, eval generation, load-test cells, sweep trials, GGUF
files), for whoever watches.

A loop calls :func:`report` as it goes. In a process whose standard error is a terminal (``fcray data``,
``fcray eval`` ... typed by a user) that draws a tqdm bar per task there; when it is not (a log file, a pipe,
CI, a Ray worker) nothing is printed, and ``FCRAY_PROGRESS=0`` silences the bars too. Inside the demo (:mod:`fcray.console`) it reaches the console: in the same process through a
sink the console installs, and from a ``ray job submit`` job (and its Ray Train workers and actors, where
``FCRAY_PROGRESS=1`` comes through the job's runtime env) as one marker line in the job's log, which the
console reads back with :func:`parse` while it writes everything else to the stage's log file.

>>> parse('(RayTrainWorker pid=7) [fcray-progress] {"task": "sft steps", "done": 3, "total": 10}')
('sft steps', 3, 10)
>>> parse("Loading weights: 100%") is None
True
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

MARKER = "[fcray-progress] "
ENV = "FCRAY_PROGRESS"  # "1": print marker lines (set for the jobs the demo submits); "0": no terminal bars

Sink = Callable[[str, int, int], None]
_sink: Sink | None = None


_bars: dict[str, Any] = {}  # task -> its tqdm bar on this process's terminal


def report(task: str, done: int, total: int) -> None:
    """``done`` of ``total`` units of ``task`` (e.g. "sft steps", "eval sft (B)") are finished; ``total`` 0:
    not known in advance."""
    if _sink is not None:
        _sink(task, done, total)
    elif os.environ.get(ENV) == "1":
        print(MARKER + json.dumps({"task": task, "done": done, "total": total}), flush=True)
    elif os.environ.get(ENV) != "0" and sys.stderr.isatty():
        _terminal_bar(task, done, total)


def _terminal_bar(task: str, done: int, total: int) -> None:
    from tqdm import tqdm

    bar = _bars.get(task)
    if bar is None or done < bar.n:  # a new run of the same task starts a new bar
        if bar is not None:
            bar.close()
        bar = _bars[task] = tqdm(total=total or None, desc=task, file=sys.stderr, leave=False, dynamic_ncols=True,
                                 mininterval=0.5)
    bar.n = done
    bar.refresh()
    if total and done >= total:
        bar.close()
        del _bars[task]


def parse(line: str) -> tuple[str, int, int] | None:
    """The ``(task, done, total)`` a marker line carries (Ray's ``(Actor pid=…)`` prefix allowed), else None."""
    at = line.find(MARKER)
    if at < 0:
        return None
    try:
        record = json.loads(line[at + len(MARKER):])
        return str(record["task"]), int(record["done"]), int(record["total"])
    except (ValueError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def sink(receiver: Sink) -> Iterator[None]:
    """Send this process's :func:`report` calls to ``receiver`` while the block runs."""
    global _sink
    previous, _sink = _sink, receiver
    try:
        yield
    finally:
        _sink = previous


def trainer_callback(task: str):
    """A transformers ``TrainerCallback`` that reports optimizer steps from the main process (rank 0 only:
    Ray Train's other workers would report the same steps again)."""
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                report(task, state.global_step, state.max_steps)

    return ProgressCallback()
