"""Ray Serve and vLLM metrics in a real Prometheus (Debian's package): it scrapes the local cluster through
the service-discovery file Ray writes, and every query of the Grafana dashboard returns data after traffic."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from fcray.serve.dashboard import dashboard, queries

from fcray.cluster import free_port

pytestmark = pytest.mark.slow


def _discovery_file() -> Path:
    from ray._common.utils import get_default_ray_temp_dir

    return Path(get_default_ray_temp_dir()) / "prom_metrics_service_discovery.json"


@pytest.fixture(scope="module")
def prometheus(served, tmp_path_factory):
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed: `bash .ci/setup` installs Debian's package (apt-get install prometheus)"
    folder = tmp_path_factory.mktemp("prometheus")
    (folder / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
        "scrape_configs": [{"job_name": "ray", "file_sd_configs": [{"files": [str(_discovery_file())]}]}],
    }))
    port = free_port()
    server = subprocess.Popen([binary, f"--config.file={folder / 'prometheus.yml'}",
                               f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/-/ready", timeout=2)
            break
        except OSError:
            assert time.time() < deadline and server.poll() is None, "prometheus did not start"
            time.sleep(1)
    yield url
    server.terminate()
    server.wait(timeout=30)


def _query(url: str, promql: str) -> list:
    with urllib.request.urlopen(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}", timeout=10) as r:
        body = json.loads(r.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


def _traffic(served, seconds: float) -> None:
    import openai

    deployment = served[0]
    client = openai.OpenAI(base_url=deployment.url, api_key="EMPTY", max_retries=0, timeout=120)
    end = time.time() + seconds

    def one_user():
        while time.time() < end:
            client.chat.completions.create(model=deployment.model_id, max_tokens=16, temperature=0,
                                           messages=[{"role": "user", "content": "What is the weather in Oslo?"}])
        try:  # one bad request per user: the error-rate panel has something to count
            client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
        except openai.APIStatusError:
            pass

    users = [threading.Thread(target=one_user) for _ in range(3)]
    for user in users:
        user.start()
    for user in users:
        user.join()


def test_every_dashboard_query_returns_data_after_traffic(served, prometheus):
    assert _discovery_file().exists(), f"Ray wrote no service-discovery file at {_discovery_file()}"
    _traffic(served, seconds=25)
    model = served[0].model_id
    missing = {}
    deadline = time.time() + 60
    while time.time() < deadline:
        missing = {}
        for name, promql in queries().items():
            result = _query(prometheus, promql.replace("$model", model))
            values = [float(r["value"][1]) for r in result]
            if not values or any(math.isnan(v) for v in values):
                missing[name] = (promql, result)
        if not missing:
            break
        time.sleep(4)
    assert not missing, f"dashboard queries without data: {json.dumps(missing, indent=1)[:3000]}"


def test_the_load_test_reads_resources_and_where_the_time_goes_from_rays_agents_and_prometheus(served, prometheus):
    """bench.resource_metrics: the same figures from the head's metrics agents (what `fcray bench` reads on
    the cluster it deployed on) and from a Prometheus scraping them (what a load test from elsewhere reads)."""
    from fcray.bench.breakdown import Breakdown
    from fcray.bench.loadgen import run_matrix
    from fcray.bench.resources import ray_metrics_texts, resource_source
    from fcray.config import BenchConfig

    deployment, head, _ = served
    bench = BenchConfig(concurrency=[2], prompt_lengths=[64], requests_per_cell=8, max_seconds_per_cell=120,
                        warmup_requests=1, max_tokens=32)
    rows = {}
    for setting, dashboard in (("auto", head.address), (prometheus, None)):
        source, said = resource_source(setting, dashboard)
        assert source is not None, said
        # with the Ray source, also where the time goes (fcray.bench.breakdown, from the same agents)
        split = Breakdown(ray_metrics_texts(head.address), "ray_vllm_", deployment.model_id) if dashboard else None
        (rows[setting],) = run_matrix(deployment.url, deployment.model_id, bench, resources=source, breakdown=split)
    row = rows["auto"]
    # fcray's stage timers (exact): checks, then LLMServer's first item inside the ingress's, inside the
    # client's; the streams' ends likewise
    assert row["time_requests_counted"] == 8, row
    assert 0 < row["time_ingress_checks_s"] < row["time_server_first_s"] <= row["time_ingress_first_s"] < row["ttft_mean_s"]
    assert row["time_server_first_s"] < row["time_server_last_s"] <= row["time_ingress_last_s"] < row["e2e_mean_s"]
    assert 0 < row["time_engine_ttft_s"] and 0 < row["time_engine_e2e_s"]  # the engine's (bucket-coarse)
    for setting, row in rows.items():
        assert row["errors"] == 0 and row["requests"] == 8, (setting, row)
        assert row["resource_samples"] >= 2 and "resource_errors" not in row, (setting, row)
        assert 0 < row["cpu_util_pct"] <= 100 and 0.2 < row["node_mem_used_gib"] < 64, (setting, row)
        # the engine's own gauge, of this model (other apps' engines are filtered out)
        assert row["kv_cache_usage_pct"] is not None and 0 <= row["kv_cache_usage_pct"] <= 100, (setting, row)
        assert row["gpu_util_pct"] is None and row["gpu_mem_used_gib"] is None  # no GPU on this machine


def test_the_dashboard_runs_exactly_the_tested_queries():
    exprs = {t["expr"] for p in dashboard()["panels"] for t in p["targets"]}
    assert exprs == set(queries().values())
    titles = {p["title"] for p in dashboard()["panels"]}
    for needed in ("Time to first token", "Throughput: requests/s", "Throughput: tokens/s",
                   "Running and waiting requests", "KV-cache usage", "End-to-end request latency", "Error rate",
                   "Healthy replicas"):
        assert needed in titles
