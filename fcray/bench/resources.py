"""What the serving machines spend during a load-test cell: GPU utilisation and memory (on GPUs), CPU
utilisation and memory of the nodes, and the engine's KV-cache use, from Ray's and vLLM's own gauges.

Two sources give the same gauges:

- ``ray``: every node's Ray metrics agent, found through the dashboard's Prometheus service discovery and
  scraped directly. Ray's reporter updates its node gauges every 5 s (``REPORTER_UPDATE_INTERVAL_MS``), so a
  cell shorter than that reads one or two updates.
- a Prometheus server URL (e.g. the kube-prometheus-stack that ``kuberay/monitoring`` feeds): instant queries
  of the same series. Use it when the load generator does not run on the serving cluster (the bench RayJob
  drives the RayService from the pipeline cluster).

Series read (Ray 2.60's names; vLLM's re-exported by Ray Serve LLM with ``vllm:`` sanitised to ``vllm_``):
``ray_node_gpus_utilization`` (percent per GPU), ``ray_node_gram_used`` (MiB per GPU: Ray's GPU providers report
megabytes whatever the gauge's help says), ``ray_node_cpu_utilization`` (percent per node), ``ray_node_mem_used``
(bytes per node) and ``ray_vllm_kv_cache_usage_perc`` (0-1 per engine, filtered by the served model's name).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

Series = list[tuple[dict[str, str], float]]  # (labels, value) per series of one metric
ResourceSource = Callable[[], dict[str, Series]]  # one sample of every metric

GPU_UTIL, GPU_MEM = "ray_node_gpus_utilization", "ray_node_gram_used"
CPU_UTIL, NODE_MEM = "ray_node_cpu_utilization", "ray_node_mem_used"
KV_CACHE = "ray_vllm_kv_cache_usage_perc"
METRICS = (GPU_UTIL, GPU_MEM, CPU_UTIL, NODE_MEM, KV_CACHE)

def parse_exposition(text: str, names: tuple[str, ...] = METRICS) -> dict[str, Series]:
    """The samples of ``names`` in Prometheus text exposition ``text``, parsed by prometheus_client.

    >>> text = 'ray_node_cpu_utilization{ip="10.0.0.1"} 37.5\\nray_node_mem_used{ip="10.0.0.1"} 1.0e9\\n'
    >>> parse_exposition(text)[CPU_UTIL]
    [({'ip': '10.0.0.1'}, 37.5)]
    """
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, Series] = {name: [] for name in names}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in found:
                found[sample.name].append((dict(sample.labels), float(sample.value)))
    return found


def ray_metrics_texts(dashboard: str, timeout_s: float = 5.0) -> Callable[[], list[str]]:
    """Reads the metrics agents of the Ray cluster whose dashboard is at ``dashboard`` (one exposition text
    per target): the targets come from the dashboard's Prometheus service discovery
    (``/api/prometheus/sd``, every node's agent), asked again at each read so nodes that join or leave are
    followed. Authenticated as Ray's own REST clients are (its token when the cluster uses token auth)."""
    from ray._private.authentication.http_token_authentication import get_auth_headers_if_auth_enabled

    def get(url: str, headers: dict[str, str]) -> bytes:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s) as response:
            return response.read()

    def read() -> list[str]:
        groups = json.loads(get(f"{dashboard.rstrip('/')}/api/prometheus/sd", get_auth_headers_if_auth_enabled({})))
        return [get(f"http://{target}/metrics", {}).decode()
                for target in sorted({t for group in groups for t in group.get("targets", [])})]

    return read


def ray_source(dashboard: str, timeout_s: float = 5.0) -> ResourceSource:
    """The gauges of :data:`METRICS` from every metrics agent of the Ray cluster at ``dashboard``."""
    read = ray_metrics_texts(dashboard, timeout_s)

    def sample() -> dict[str, Series]:
        merged: dict[str, Series] = {name: [] for name in METRICS}
        for text in read():
            for name, series in parse_exposition(text).items():
                merged[name] += series
        return merged

    return sample


def prometheus_source(url: str, timeout_s: float = 5.0) -> ResourceSource:
    """Instant queries of the same series on a Prometheus server at ``url`` (``http://host:9090``)."""

    def query(name: str) -> Series:
        address = f"{url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': name})}"
        with urllib.request.urlopen(address, timeout=timeout_s) as response:
            body = json.loads(response.read())
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus at {url} answered {body.get('error') or body} to {name}")
        return [({k: v for k, v in r["metric"].items() if k != "__name__"}, float(r["value"][1]))
                for r in body["data"]["result"]]

    return lambda: {name: query(name) for name in METRICS}


def summarize(samples: list[dict[str, Series]], model: str | None = None) -> dict[str, float | None]:
    """The cell's columns from its samples: mean GPU and CPU utilisation over the samples and the GPUs /
    nodes (percent), peak GPU and node memory used summed over GPUs / nodes (GiB), peak KV-cache use of the
    served model's engines (percent). A gauge with no series (no GPU, no engine metrics) gives None;
    KV-cache series of other models are left out when they carry a ``model_name``.

    >>> gpu = {GPU_UTIL: [({"GpuIndex": "0"}, 80.0), ({"GpuIndex": "1"}, 60.0)],
    ...        GPU_MEM: [({"GpuIndex": "0"}, 10240.0), ({"GpuIndex": "1"}, 2048.0)],
    ...        CPU_UTIL: [({}, 50.0)], NODE_MEM: [({}, 2.0 * 2**30)],
    ...        KV_CACHE: [({"model_name": "m"}, 0.25), ({"model_name": "other"}, 0.9)]}
    >>> summarize([gpu, {**gpu, GPU_UTIL: [({"GpuIndex": "0"}, 100.0), ({"GpuIndex": "1"}, 100.0)]}], "m")
    {'gpu_util_pct': 85.0, 'gpu_mem_used_gib': 12.0, 'cpu_util_pct': 50.0, 'node_mem_used_gib': 2.0, 'kv_cache_usage_pct': 25.0}
    """
    def values(sample: dict[str, Series], name: str) -> list[float]:
        series = sample.get(name, [])
        if name == KV_CACHE and model is not None:
            series = [(labels, v) for labels, v in series if labels.get("model_name", model) == model]
        return [v for _, v in series]

    def mean_of_means(name: str) -> float | None:
        means = [sum(v) / len(v) for v in (values(s, name) for s in samples) if v]
        return sum(means) / len(means) if means else None

    def peak(name: str, reduce=sum, scale: float = 1.0) -> float | None:
        totals = [reduce(v) for v in (values(s, name) for s in samples) if v]
        return max(totals) * scale if totals else None

    return {"gpu_util_pct": mean_of_means(GPU_UTIL), "gpu_mem_used_gib": peak(GPU_MEM, scale=1 / 1024),
            "cpu_util_pct": mean_of_means(CPU_UTIL), "node_mem_used_gib": peak(NODE_MEM, scale=1 / 2**30),
            "kv_cache_usage_pct": peak(KV_CACHE, max, 100.0)}


class CellSampler:
    """Samples ``source`` every ``interval_s`` on a thread while a cell runs (``with`` block), once more at
    its end; :meth:`columns` gives the summary. A failed scrape is counted, not raised: the load test's own
    figures never depend on the metrics."""

    def __init__(self, source: ResourceSource, model: str | None = None,
                 interval_s: float = 1.0) -> None:
        self.source, self.model, self.interval_s = source, model, interval_s
        self.samples: list[dict[str, Series]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _take(self) -> None:
        try:
            self.samples.append(self.source())
        except Exception as error:  # noqa: BLE001 - an unreachable agent must not fail the load test
            self.failures.append(f"{type(error).__name__}: {error}")

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._take()

    def __enter__(self) -> CellSampler:
        self._take()
        self._thread = threading.Thread(target=self._run, name="fcray-bench-resources", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self._take()

    def columns(self) -> dict[str, Any]:
        return {**summarize(self.samples, self.model), "resource_samples": len(self.samples),
                **({"resource_errors": self.failures[0]} if self.failures else {})}


def resource_source(setting: str, dashboard: str | None = None) -> tuple[ResourceSource | None, str]:
    """``bench.resource_metrics`` → (source or None, a line saying what the load test reads).
    ``dashboard``: the Ray cluster fcray deployed the endpoint on, when it did (``auto`` reads it)."""
    if setting == "none":
        return None, "no resource figures: bench.resource_metrics=none"
    if setting.startswith(("http://", "https://")):
        return prometheus_source(setting), f"resource figures from Prometheus at {setting}"
    if setting == "auto" and dashboard is None:
        return None, ("no resource figures: the endpoint was given with --url, so its cluster is not known here "
                      "(set bench.resource_metrics to a Prometheus URL, or to ray when RAY_ADDRESS or this "
                      "machine's head is the serving cluster)")
    if dashboard is None:  # ray: the cluster a client here would use
        from fcray.cluster import running_head, use_head

        head = running_head()
        if head is None:
            return None, "no resource figures: no Ray cluster answers at RAY_ADDRESS or on this machine"
        use_head(head)  # its authentication, for the discovery request
        dashboard = head.address
    return ray_source(dashboard), f"resource figures from the metrics agents of the Ray cluster at {dashboard}"
