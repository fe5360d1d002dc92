"""fcray's LLM deployment class: Ray Serve LLM's ``LLMServer``, with Serve's request log kept alive once vLLM
configures logging (``llm_config``'s ``server_cls`` names it, so ``serve deploy``, the sweep and KubeRay use it).

Why: vLLM's ``AsyncLLM`` applies its logging config with ``logging.config.dictConfig`` when the engine starts,
inside the Serve replica. ``dictConfig`` first *closes every existing handler* of the process, Serve's
included. Serve's replica logger writes through a ``MemoryHandler`` whose ``close()`` drops its target
file, and a ``MemoryHandler`` without a target never empties its buffer: every request's access-log
record (about 2 KiB) then stays in memory for the life of the replica, and the replica's Serve log stops
at "Running tasks to download model files". The soak measured that as +1.15 MiB/min of the LLMServer
replica at ~500 requests/min (docs/results/2026-12-03-soak-45min.md; the cause in
docs/results/2026-12-06-soak-log-leak.md). Giving each such handler its target back after the engine
started ends both: the records are written to the file and dropped.
"""

from __future__ import annotations

import logging
import logging.handlers
import time
from typing import Any

from ray.serve.llm import LLMServer

from fcray.serve.timing import timed_stream

SERVE_LOGGER = "ray.serve"  # ray.serve._private.constants.SERVE_LOGGER_NAME


def timed(response: Any, start: float) -> Any:
    """A streamed response timed from ``start``; a whole response (not streamed) as it is."""
    return timed_stream(response, start, "server") if hasattr(response, "__aiter__") else response


def buffered_log_targets(logger_name: str = SERVE_LOGGER) -> list[tuple[logging.handlers.MemoryHandler, logging.Handler]]:
    """The logger's buffering handlers with the handler each writes to (what ``dictConfig`` takes away)."""
    return [(h, h.target) for h in logging.getLogger(logger_name).handlers
            if isinstance(h, logging.handlers.MemoryHandler) and h.target is not None]


def restore_log_targets(held: list[tuple[logging.handlers.MemoryHandler, logging.Handler]]) -> int:
    """Give each buffering handler that lost its target (closed by ``dictConfig``) the one it had, and write
    out what it buffered meanwhile; returns how many were restored. A closed ``FileHandler`` opens its file
    again on the next record (append mode), so the target needs nothing more.

    >>> import io
    >>> out = logging.StreamHandler(io.StringIO())
    >>> buffered = logging.handlers.MemoryHandler(capacity=1, target=out)
    >>> held = [(buffered, out)]
    >>> buffered.close()                      # what logging.config.dictConfig does to every handler
    >>> buffered.target is None
    True
    >>> restore_log_targets(held), buffered.target is out
    (1, True)
    """
    restored = 0
    for handler, target in held:
        if handler.target is None:
            handler.setTarget(target)
            handler.flush()
            restored += 1
    return restored


class FcrayLLMServer(LLMServer):
    """``LLMServer`` whose Serve request log survives vLLM's logging setup (see the module's docstring), and
    whose streams are timed to their first and last item (:mod:`fcray.serve.timing`: server_first /
    server_last)."""

    async def chat(self, request: Any, raw_request_info: Any = None) -> Any:
        start = time.perf_counter()
        return timed(await super().chat(request, raw_request_info), start)

    async def completions(self, request: Any, raw_request_info: Any = None) -> Any:
        start = time.perf_counter()
        return timed(await super().completions(request, raw_request_info), start)

    async def start(self):
        held = buffered_log_targets()
        try:
            await super().start()
        finally:
            restore_log_targets(held)
