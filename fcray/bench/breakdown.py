"""Where a served request's time goes, from the servers' own per-request histograms, as means per request
over one load-test cell — beside the client's own TTFT and end-to-end latency, so what is left between them
is the serving path (HTTP, Serve's proxy, the ingress, the router, ``LLMServer``, streaming back).

- vLLM's engine (both behind Ray Serve LLM, re-exported by Ray as ``ray_vllm_*``, and a bare vLLM server's
  ``/metrics`` as ``vllm:*``): time waiting in the scheduler's queue, prefill, decode, the engine's own
  time to first token and end-to-end latency (from the request's arrival at the engine).
- fcray's Serve app (:mod:`fcray.serve.timing`): its ingress's checks, the ingress's and ``LLMServer``'s time
  to their first and last streamed item — exact sums, unlike Ray's histograms below.
- Ray Serve: the HTTP proxy's request latency (``ray_serve_http_request_latency_ms``: the whole streamed
  request as the proxy sees it) and each deployment's processing latency
  (``ray_serve_deployment_processing_latency_ms``: the ingress's and ``LLMServer``'s handler time).

Ray 2.60 exports a histogram's ``_sum`` from its bucket midpoints, so the figures read from Ray's histograms
(the engine's behind Serve, the proxy's, the deployments') are only as fine as their buckets; a bare vLLM
server's are exact. A cell's figure is (Δsum / Δcount) between a snapshot before the cell and one after.
Ray's processes push their metrics every 10 s, so each snapshot waits (bounded) until the engine and fcray's
stages have counted every request sent so far (:class:`Breakdown`).
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

from fcray.serve.timing import REQUESTS as STAGE_REQUESTS
from fcray.serve.timing import SECONDS as STAGE_SECONDS

Totals = dict[tuple[str, str], tuple[float, float]]  # (figure, group) -> (sum, count)

# figure -> histogram name (vLLM's without its prefix, Serve's as Ray exports it), and its unit in seconds
ENGINE = {
    "engine_queue": "request_queue_time_seconds",
    "engine_prefill": "request_prefill_time_seconds",
    "engine_decode": "request_decode_time_seconds",
    "engine_ttft": "time_to_first_token_seconds",
    "engine_e2e": "e2e_request_latency_seconds",
}
SERVE = {
    "proxy_request": "ray_serve_http_request_latency_ms",
    "processing": "ray_serve_deployment_processing_latency_ms",  # per deployment
}


def histogram_totals(texts: list[str], engine_prefix: str, model: str | None = None,
                     application: str | None = None) -> Totals:
    """Sum and count of every histogram of :data:`ENGINE` (names prefixed ``engine_prefix``: ``ray_vllm_``
    or ``vllm:``) and :data:`SERVE`, and of fcray's stage counters (per stage), in Prometheus texts ``texts``,
    added over series; the deployment
    processing latency per ``deployment`` label. Engine series of other models are left out, and so are
    Serve's and fcray's series of other Serve applications (``application`` label) when ``application`` is
    given: apps deleted earlier leave series that Ray's agents keep exporting for a while, then drop, which
    would move a cell's sums by another app's requests.

    >>> text = ('vllm:time_to_first_token_seconds_sum{model_name="m"} 2.0\\n'
    ...         'vllm:time_to_first_token_seconds_count{model_name="m"} 8\\n'
    ...         'vllm:time_to_first_token_seconds_sum{model_name="x"} 9.0\\n'
    ...         'ray_serve_deployment_processing_latency_ms_sum{deployment="Ingress"} 30\\n'
    ...         'ray_serve_deployment_processing_latency_ms_count{deployment="Ingress"} 3\\n')
    >>> sorted(histogram_totals([text], "vllm:", "m").items())
    [(('engine_ttft', ''), (2.0, 8.0)), (('processing', 'Ingress'), (0.03, 3.0))]
    >>> stages = ('ray_fcray_serve_stage_seconds_total{application="a",stage="server_first"} 0.5\\n'
    ...           'ray_fcray_serve_stage_requests_total{application="a",stage="server_first"} 2\\n'
    ...           'ray_fcray_serve_stage_seconds_total{application="old",stage="server_first"} 9.0\\n'
    ...           'ray_fcray_serve_stage_requests_total{application="old",stage="server_first"} 3\\n')
    >>> histogram_totals([stages], "ray_vllm_", application="a")
    {('server_first', ''): (0.5, 2.0)}
    """
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {engine_prefix + name: (figure, 1.0) for figure, name in ENGINE.items()}
    wanted.update({name: (figure, 0.001) for figure, name in SERVE.items()})  # milliseconds
    totals: dict[tuple[str, str], list[float]] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if application is not None and sample.labels.get("application", application) != application:
                    continue
                # fcray's own stage counters (fcray.serve.timing): exact seconds and requests per stage
                counter = sample.name.removeprefix("ray_").removesuffix("_total")
                if counter in (STAGE_SECONDS, STAGE_REQUESTS) and "stage" in sample.labels:
                    entry = totals.setdefault((sample.labels["stage"], ""), [0.0, 0.0])
                    entry[0 if counter == STAGE_SECONDS else 1] += sample.value
                    continue
                base, _, part = sample.name.rpartition("_")
                if part not in ("sum", "count") or base not in wanted:
                    continue
                labels = sample.labels
                if model is not None and base.startswith(engine_prefix) and labels.get("model_name", model) != model:
                    continue
                figure, scale = wanted[base]
                group = labels.get("deployment", "") if figure == "processing" else ""
                entry = totals.setdefault((figure, group), [0.0, 0.0])
                entry[0 if part == "sum" else 1] += sample.value * (scale if part == "sum" else 1.0)
    return {key: (s, c) for key, (s, c) in totals.items()}


def cell_means(before: Totals, after: Totals) -> dict[str, float]:
    """Mean seconds per request of every figure between two snapshots (``processing/<deployment>`` per
    deployment); figures with no new request are left out.

    >>> cell_means({("engine_ttft", ""): (1.0, 4)}, {("engine_ttft", ""): (2.0, 8), ("engine_e2e", ""): (6.0, 4)})
    {'engine_ttft': 0.25, 'engine_e2e': 1.5}
    """
    means = {}
    for (figure, group), (total, count) in after.items():
        old_total, old_count = before.get((figure, group), (0.0, 0.0))
        if count > old_count:
            means[f"{figure}/{group}" if group else figure] = (total - old_total) / (count - old_count)
    return means


def http_texts(url: str, timeout_s: float = 5.0) -> Callable[[], list[str]]:
    """A server's own Prometheus endpoint (a bare vLLM server's ``http://host:port/metrics``)."""

    def read() -> list[str]:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return [response.read().decode()]

    return read


# figures counted exactly once per streamed chat request: a snapshot waits until each has counted them all
BARRIER = ("engine_ttft", "ingress_first", "ingress_last", "server_first", "server_last")


class Breakdown:
    """Snapshots of one server's histograms and counters around load-test cells. Metrics reach Ray's agents
    late (each process pushes its own every ``metrics_report_interval_ms``, 10 s by default), so a snapshot
    is taken once every figure of :data:`BARRIER` the server has has counted each request sent so far
    (:meth:`settled`), then ``quiet_s`` more for the rest (the proxy's, the deployments'). :meth:`begin`
    before the first request; a cell's means are :meth:`columns` of the snapshots around it."""

    def __init__(self, read: Callable[[], list[str]], engine_prefix: str, model: str | None = None,
                 settle_s: float = 60.0, quiet_s: float = 1.0, application: str | None = None) -> None:
        self.read, self.engine_prefix, self.model, self.application = read, engine_prefix, model, application
        self.settle_s, self.quiet_s = settle_s, quiet_s
        self.base: Totals = {}

    def snapshot(self) -> Totals:
        return histogram_totals(self.read(), self.engine_prefix, self.model, self.application)

    @staticmethod
    def _count(totals: Totals, figure: str) -> float:
        return totals.get((figure, ""), (0.0, 0.0))[1]

    def begin(self) -> None:
        """Counts before this load (earlier requests' figures given time to arrive)."""
        time.sleep(self.quiet_s)
        self.base = self.snapshot()

    def settled(self, sent: int) -> Totals:
        """A snapshot once the server's figures count ``sent`` requests since :meth:`begin` (or after
        ``settle_s``, if some never arrive)."""
        deadline = time.monotonic() + self.settle_s
        while True:
            totals = self.snapshot()
            behind = [f for f in BARRIER
                      if (f, "") in totals and self._count(totals, f) - self._count(self.base, f) < sent]
            if not behind or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        time.sleep(self.quiet_s)
        return self.snapshot()

    def columns(self, before: Totals, after: Totals) -> dict[str, float]:
        means = cell_means(before, after)
        counted = self._count(after, "engine_ttft") - self._count(before, "engine_ttft")
        return {f"time_{name}_s": value for name, value in means.items()} | {"time_requests_counted": int(counted)}
