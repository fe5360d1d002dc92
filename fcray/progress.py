"""Progress of long loops (training steps, eval generation, load-test cells), for a console that shows it.

A loop calls :func:`report` as it goes. By default that does nothing, so library use and plain CLI runs stay
as they were. Inside the demo (:mod:`fcray.console`) it reaches the console: in the same process through a
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
from collections.abc import Callable, Iterator

MARKER = "[fcray-progress] "
ENV = "FCRAY_PROGRESS"  # "1": print marker lines (set for the jobs the demo submits)

Sink = Callable[[str, int, int], None]
_sink: Sink | None = None


def report(task: str, done: int, total: int) -> None:
    """``done`` of ``total`` units of ``task`` (e.g. "sft steps", "eval sft (B)") are finished."""
    if _sink is not None:
        _sink(task, done, total)
    elif os.environ.get(ENV) == "1":
        print(MARKER + json.dumps({"task": task, "done": done, "total": total}), flush=True)


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
