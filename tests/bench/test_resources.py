"""The load test's resource figures (fcray.bench.resources): parsing, summarising and sampling, on
Prometheus text as Ray's metrics agents write it. The real sources (Ray's agents and a real Prometheus)
are read in tests/serve/test_metrics.py."""

import pytest

from fcray.bench.resources import (CPU_UTIL, GPU_MEM, GPU_UTIL, KV_CACHE, NODE_MEM, CellSampler, parse_exposition,
                                   resource_source, summarize)
from fcray.config import ConfigError, load_config

# the shape of a Ray 2.60 agent's export: HELP/TYPE lines, labels, other families around ours
AGENT_TEXT = """\
# HELP ray_node_cpu_utilization Total CPU usage on a ray node
# TYPE ray_node_cpu_utilization gauge
ray_node_cpu_utilization{Version="2.60.0",ip="10.0.0.1",SessionName="s"} 88.5
# HELP ray_node_mem_used Memory usage on a ray node
# TYPE ray_node_mem_used gauge
ray_node_mem_used{Version="2.60.0",ip="10.0.0.1",SessionName="s"} 6.442450944e+09
# HELP ray_node_gpus_utilization Total GPUs usage on a ray node
# TYPE ray_node_gpus_utilization gauge
ray_node_gpus_utilization{GpuDeviceName="NVIDIA H100",GpuIndex="0",ip="10.0.0.1"} 73.0
# HELP ray_node_gram_used Total GPU RAM usage on a ray node
# TYPE ray_node_gram_used gauge
ray_node_gram_used{GpuDeviceName="NVIDIA H100",GpuIndex="0",ip="10.0.0.1"} 61440.0
# HELP ray_vllm_kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE ray_vllm_kv_cache_usage_perc gauge
ray_vllm_kv_cache_usage_perc{engine="0",model_name="fcray-tiny"} 0.125
# HELP ray_serve_num_http_requests_total The number of HTTP requests processed.
# TYPE ray_serve_num_http_requests_total counter
ray_serve_num_http_requests_total{application="fcray"} 42.0
"""


def test_an_agents_export_is_parsed_into_our_series():
    series = parse_exposition(AGENT_TEXT)
    assert series[CPU_UTIL] == [({"Version": "2.60.0", "ip": "10.0.0.1", "SessionName": "s"}, 88.5)]
    assert series[GPU_MEM][0][1] == 61440.0 and series[KV_CACHE][0][0]["model_name"] == "fcray-tiny"
    assert "ray_serve_num_http_requests_total" not in series  # only what the table shows


def _sample(cpu=(50.0,), mem_gib=(1.0,), gpu=(), gram_mib=(), kv=()):
    return {CPU_UTIL: [({"ip": str(i)}, v) for i, v in enumerate(cpu)],
            NODE_MEM: [({"ip": str(i)}, v * 2**30) for i, v in enumerate(mem_gib)],
            GPU_UTIL: [({"GpuIndex": str(i)}, v) for i, v in enumerate(gpu)],
            GPU_MEM: [({"GpuIndex": str(i)}, v) for i, v in enumerate(gram_mib)],
            KV_CACHE: [({"model_name": name}, v) for name, v in kv]}


@pytest.mark.parametrize("samples, model, expected", [
    # no samples at all (every scrape failed): nothing to show
    ([], None, dict.fromkeys(("gpu_util_pct", "gpu_mem_used_gib", "cpu_util_pct", "node_mem_used_gib",
                              "kv_cache_usage_pct"))),
    # CPU machine: no GPU series, so no GPU figures; CPU mean over samples of the per-node mean, memory peak
    # of the per-sample sum over nodes
    ([_sample(cpu=(40.0, 60.0), mem_gib=(1.0, 2.0)), _sample(cpu=(100.0, 100.0), mem_gib=(1.5, 2.0))], None,
     {"gpu_util_pct": None, "gpu_mem_used_gib": None, "cpu_util_pct": 75.0, "node_mem_used_gib": 3.5,
      "kv_cache_usage_pct": None}),
    # two GPUs: utilisation mean over GPUs and samples, memory the peak of the sum (MiB -> GiB)
    ([_sample(gpu=(90.0, 70.0), gram_mib=(4096.0, 4096.0)), _sample(gpu=(50.0, 30.0), gram_mib=(6144.0, 4096.0))],
     None, {"gpu_util_pct": 60.0, "gpu_mem_used_gib": 10.0, "cpu_util_pct": 50.0, "node_mem_used_gib": 1.0,
            "kv_cache_usage_pct": None}),
    # KV cache: the served model's engines only, peak over engines and samples, in percent
    ([_sample(kv=(("m", 0.1), ("m", 0.3), ("other", 0.9))), _sample(kv=(("m", 0.2),))], "m",
     {"gpu_util_pct": None, "gpu_mem_used_gib": None, "cpu_util_pct": 50.0, "node_mem_used_gib": 1.0,
      "kv_cache_usage_pct": 30.0}),
    # without a model name every engine counts
    ([_sample(kv=(("m", 0.1), ("other", 0.9)))], None,
     {"gpu_util_pct": None, "gpu_mem_used_gib": None, "cpu_util_pct": 50.0, "node_mem_used_gib": 1.0,
      "kv_cache_usage_pct": 90.0}),
])
def test_summaries(samples, model, expected):
    assert summarize(samples, model) == pytest.approx(expected)


def test_the_sampler_samples_during_and_at_both_ends_of_a_cell():
    import time

    calls = []

    def source():
        calls.append(time.monotonic())
        return _sample(cpu=(float(len(calls)),))

    with CellSampler(source, interval_s=0.05) as sampler:
        time.sleep(0.3)
    columns = sampler.columns()
    assert len(calls) >= 5 and columns["resource_samples"] == len(calls)  # first, ~5 in between, last
    assert columns["cpu_util_pct"] == pytest.approx(sum(range(1, len(calls) + 1)) / len(calls))
    assert "resource_errors" not in columns


def test_a_failing_source_costs_the_figures_not_the_cell():
    def unreachable():
        raise ConnectionRefusedError("agent at 10.0.0.9:8080 refused")

    with CellSampler(unreachable, interval_s=0.05) as sampler:
        pass
    columns = sampler.columns()
    assert columns["resource_samples"] == 0 and columns["cpu_util_pct"] is None
    assert columns["resource_errors"] == "ConnectionRefusedError: agent at 10.0.0.9:8080 refused"


@pytest.mark.parametrize("setting, dashboard, says", [
    ("none", "http://127.0.0.1:8265", "no resource figures: bench.resource_metrics=none"),
    ("auto", None, "no resource figures: the endpoint was given with --url"),
    ("auto", "http://127.0.0.1:8265", "resource figures from the metrics agents of the Ray cluster at "
                                      "http://127.0.0.1:8265"),
    ("ray", "http://10.0.0.1:8265", "resource figures from the metrics agents of the Ray cluster at "
                                    "http://10.0.0.1:8265"),
    ("http://prometheus:9090", None, "resource figures from Prometheus at http://prometheus:9090"),
])
def test_which_source_a_setting_picks(setting, dashboard, says):
    source, said = resource_source(setting, dashboard)
    assert said == says or said.startswith(says)
    assert (source is None) == said.startswith("no resource figures")


def test_ray_without_a_cluster_says_so(monkeypatch):
    from fcray.cluster import free_port

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("FCRAY_RAY_DASHBOARD_PORT", str(free_port()))  # nobody answers there
    source, said = resource_source("ray")
    assert source is None and said == "no resource figures: no Ray cluster answers at RAY_ADDRESS or on this machine"


@pytest.mark.parametrize("value", ["prometheus:9090", "nvidia-smi", ""])
def test_a_bad_setting_names_the_key_and_the_choices(value):
    with pytest.raises(ConfigError, match="bench.resource_metrics: got .* use auto, ray, none or a Prometheus URL"):
        load_config("tiny", overrides=[f"bench.resource_metrics={value}"])
