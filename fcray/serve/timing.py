"""Where a served request spends its time inside fcray's Serve app, measured at the boundaries fcray owns
and exported as Ray metrics (exact sums: Ray 2.60 exports a histogram's ``_sum`` from its bucket midpoints,
too coarse for milliseconds, so these are two counters per stage: seconds and requests).

Stages (``stage`` tag), each from the moment the request reaches that code:

- ``ingress_checks``: fcray's ingress, before handing the request on (auth, limits, tool-schema checks,
  constrained-decoding grammar);
- ``ingress_first`` / ``ingress_last``: the ingress, until the first / last streamed item comes back from
  ``LLMServer`` (router, the handle call, the server, the engine, streaming between the replicas);
- ``server_first`` / ``server_last``: ``LLMServer.chat``/``completions``, until its first / last streamed
  item (vLLM's OpenAI layer: template and tokenizer, the engine, Ray Serve LLM's stream batching).

A whole (not streamed) response is one item: its ``*_first`` is the whole request; ``ingress_last`` is not
recorded for it (the ingress stops reading after the one item).

The time before the ingress (client → HTTP proxy → ingress) and after it (back through the proxy) is the
client's latency minus ``ingress_*``; :mod:`fcray.bench.breakdown` puts them side by side.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

SECONDS = "fcray_serve_stage_seconds"
REQUESTS = "fcray_serve_stage_requests"
_counters: dict[str, Any] = {}


def _counter(name: str, description: str) -> Any:
    if name not in _counters:  # one per process (a replica), created on first use inside it
        from ray.serve.metrics import Counter  # adds the deployment, replica, application, route tags

        _counters[name] = Counter(name, description=description, tag_keys=("stage",))
    return _counters[name]


def record(stage: str, seconds: float) -> None:
    """Add one request's ``seconds`` in ``stage``."""
    _counter(SECONDS, "seconds spent in a stage of fcray's Serve app, summed over requests").inc(
        seconds, tags={"stage": stage})
    _counter(REQUESTS, "requests timed in a stage of fcray's Serve app").inc(1.0, tags={"stage": stage})


async def timed_stream(stream: AsyncIterator[Any], start: float, prefix: str) -> AsyncIterator[Any]:
    """``stream`` unchanged, with ``<prefix>_first`` and ``<prefix>_last`` recorded from ``start`` (a
    ``time.perf_counter()``); a stream that fails or is abandoned records nothing."""
    first = True
    async for item in stream:
        if first:
            record(f"{prefix}_first", time.perf_counter() - start)
            first = False
        yield item
    record(f"{prefix}_last", time.perf_counter() - start)
