"""The Grafana dashboard of the serving stack, and the PromQL it runs (the same queries the metrics test
checks against a real Prometheus scraping a live deployment).

Metric names are Ray's: Ray Serve's own (``ray_serve_*``) and vLLM's engine metrics that Ray Serve LLM
re-exports through Ray's metrics agent (``ray_vllm_*``, vLLM's ``vllm:`` prefix sanitised), all on each
node's Ray metrics port. ``$model`` filters by the served model name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

WINDOW = "1m"
MODEL = 'model_name=~"$model"'


@dataclass(frozen=True)
class Panel:
    title: str
    queries: dict[str, str]  # legend -> PromQL
    unit: str = "short"


def _quantile(q: float, metric: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{{{MODEL}}}[{WINDOW}])))"


PANELS = (
    Panel("Time to first token", {
        "P50": _quantile(0.5, "ray_vllm_time_to_first_token_seconds"),
        "P95": _quantile(0.95, "ray_vllm_time_to_first_token_seconds"),
    }, "s"),
    Panel("Inter-token latency", {
        "P50": _quantile(0.5, "ray_vllm_inter_token_latency_seconds"),
        "P95": _quantile(0.95, "ray_vllm_inter_token_latency_seconds"),
    }, "s"),
    Panel("End-to-end request latency", {
        "P50": _quantile(0.5, "ray_vllm_e2e_request_latency_seconds"),
        "P95": _quantile(0.95, "ray_vllm_e2e_request_latency_seconds"),
        "P99": _quantile(0.99, "ray_vllm_e2e_request_latency_seconds"),
    }, "s"),
    Panel("Throughput: requests/s", {
        "HTTP requests/s": f'sum(rate(ray_serve_num_http_requests_total{{application="fcray"}}[{WINDOW}]))',
        "finished requests/s": f"sum(rate(ray_vllm_request_success_total{{{MODEL}}}[{WINDOW}]))",
    }, "reqps"),
    Panel("Throughput: tokens/s", {
        "generated tokens/s": f"sum(rate(ray_vllm_generation_tokens_total{{{MODEL}}}[{WINDOW}]))",
        "prompt tokens/s": f"sum(rate(ray_vllm_prompt_tokens_total{{{MODEL}}}[{WINDOW}]))",
    }),
    Panel("Running and waiting requests", {
        "running": f"sum(ray_vllm_num_requests_running{{{MODEL}}})",
        "waiting": f"sum(ray_vllm_num_requests_waiting{{{MODEL}}})",
    }),
    Panel("Time inside fcray's app (mean per request)", {
        # fcray.serve.timing's counters: exact sums (Ray's histogram sums are bucket midpoints); a stage with no
        # request in the window is left out rather than drawn as 0/0 (ingress_last counts streams only)
        "{{stage}}": (f"sum by (stage) (rate(ray_fcray_serve_stage_seconds_total{{application=\"fcray\"}}[{WINDOW}])) / "
                      f"(sum by (stage) (rate(ray_fcray_serve_stage_requests_total{{application=\"fcray\"}}[{WINDOW}])) "
                      f"> 0)"),
    }, "s"),
    Panel("KV-cache usage", {
        "KV cache used": f"max(ray_vllm_kv_cache_usage_perc{{{MODEL}}})",
    }, "percentunit"),
    Panel("Error rate", {
        "HTTP errors / requests": (
            f'(sum(rate(ray_serve_num_http_error_requests_total{{application="fcray"}}[{WINDOW}])) or vector(0)) / '
            f'clamp_min(sum(rate(ray_serve_num_http_requests_total{{application="fcray"}}[{WINDOW}])), 1e-9)'),
    }, "percentunit"),
    Panel("Healthy replicas", {
        "replicas": 'sum by (deployment) (ray_serve_deployment_replica_healthy{application="fcray"})',
    }),
)


def queries() -> dict[str, str]:
    """``{"<panel> / <legend>": promql}`` with ``$model`` left for Grafana's variable."""
    return {f"{p.title} / {legend}": q for p in PANELS for legend, q in p.queries.items()}


def dashboard() -> dict:
    """Grafana dashboard JSON (schema 39), Prometheus data source picked by a variable."""
    panels = []
    for i, panel in enumerate(PANELS):
        panels.append({
            "id": i + 1, "type": "timeseries", "title": panel.title,
            "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
            "targets": [{"refId": chr(ord("A") + k), "expr": q, "legendFormat": legend,
                         "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                        for k, (legend, q) in enumerate(panel.queries.items())],
        })
    return {
        "uid": "fcray-serving", "title": "fcray serving (Ray Serve LLM + vLLM)", "schemaVersion": 39,
        "tags": ["fcray", "ray-serve", "vllm"], "timezone": "browser", "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
            {"name": "model", "type": "query", "label": "model", "includeAll": True, "allValue": ".*",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(ray_vllm_num_requests_running, model_name)", "refId": "model"},
             "definition": "label_values(ray_vllm_num_requests_running, model_name)", "refresh": 2},
        ]},
        "panels": panels,
    }


DASHBOARD_FILE = Path(__file__).resolve().parents[2] / "kuberay" / "monitoring" / "grafana-dashboard.json"


def write_dashboard(path: Path = DASHBOARD_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dashboard(), indent=2) + "\n")
    return path
