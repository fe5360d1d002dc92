"""KubeRay manifests for the ``qwen3-0.6b`` preset, generated (never copied by hand) into ``kuberay/``.

* ``raycluster.yaml`` — a head (no GPU) and an autoscaled GPU worker group, the shared volume the jobs write
  to mounted at ``/mnt/shared``, Ray's metrics port named for the PodMonitor.
* ``rayjob-{data,sft,grpo,eval,export,bench,sweep}.yaml`` — every stage's job submitted to that cluster
  (``clusterSelector``); the bench job load-tests the RayService below.
* ``rayservice.yaml`` — Ray Serve LLM on its own cluster; ``serveConfigV2`` is ``serve_configs/qwen3-0.6b.yaml``.
* ``monitoring/`` — a PodMonitor (Prometheus operator) for every Ray pod, the Grafana dashboard as JSON and as
  a ConfigMap that Grafana's sidecar provisions (label ``grafana_dashboard: "1"``).

`fcray serve --write-config --preset qwen3-0.6b` regenerates everything; a test keeps the files in sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from fcray.config import FcrayConfig
from fcray.serve.config import SERVE_CONFIGS

KUBERAY = Path(__file__).resolve().parents[2] / "kuberay"
IMAGE = "ghcr.io/fcray/fcray:0.1.0-cu128"  # built from kuberay/Dockerfile
RAY_VERSION = "2.60.0"
SHARED = "/mnt/shared"
WORKDIR = f"{SHARED}/fcray"
PVC = "fcray-shared"
METRICS_PORT = 8080
LABELS = {"app.kubernetes.io/part-of": "fcray"}


# Secrets, created once per namespace (docs/serving.md#deploying-on-kubernetes-with-kuberay):
#   kubectl create secret generic fcray-api-key --from-literal=api-key="$(openssl rand -hex 32)"
#   kubectl create secret generic hf-token --from-literal=token=hf_...    (only for gated or private models)
API_KEY_SECRET, API_KEY_ENV = "fcray-api-key", "FCRAY_API_KEY"  # the qwen3-0.6b preset's serve.api_key=env:...
HF_TOKEN_SECRET = "hf-token"


def _secret_env(name: str, secret: str, key: str, optional: bool) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": optional}}}


def _container(name: str, cpu: int, memory: str, gpus: int = 0, ports: list[dict] | None = None,
               serves: bool = False) -> dict[str, Any]:
    limits: dict[str, Any] = {"cpu": str(cpu), "memory": memory, **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    env = [{"name": "HF_HOME", "value": f"{SHARED}/hf"}, {"name": "FCRAY_CACHE", "value": f"{SHARED}/fcray-cache"},
           _secret_env("HF_TOKEN", HF_TOKEN_SECRET, "token", optional=True),
           # the ingress reads the key on its pod: without the Secret a serving pod does not start (no open API);
           # the pipeline's pods may have it (optional) so that the bench job can call the RayService
           _secret_env(API_KEY_ENV, API_KEY_SECRET, "api-key", optional=not serves)]
    return {
        "name": name, "image": IMAGE, "imagePullPolicy": "IfNotPresent",
        "resources": {"requests": dict(limits), "limits": dict(limits)},
        "ports": (ports or []) + [{"name": "metrics", "containerPort": METRICS_PORT}],
        "volumeMounts": [{"name": "shared", "mountPath": SHARED}, {"name": "dshm", "mountPath": "/dev/shm"}],
        "env": env,
    }


def _pod(container: dict[str, Any], gpu: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [container],
        "volumes": [{"name": "shared", "persistentVolumeClaim": {"claimName": PVC}},
                    {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}],
    }
    if gpu:
        spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    return {"metadata": {"labels": dict(LABELS)}, "spec": spec}


def cluster_spec(gpu_workers: tuple[int, int] = (0, 4), serves: bool = False) -> dict[str, Any]:
    """A RayCluster spec: CPU head (schedules nothing), GPU workers autoscaled between the bounds.
    ``serves``: the cluster runs fcray's Serve app, whose ingress needs the API key."""
    head = _container("ray-head", 4, "16Gi", ports=[{"name": "gcs", "containerPort": 6379},
                                                    {"name": "dashboard", "containerPort": 8265},
                                                    {"name": "serve", "containerPort": 8000}], serves=serves)
    worker = _container("ray-worker", 8, "48Gi", gpus=1, serves=serves)
    return {
        "rayVersion": RAY_VERSION,
        "enableInTreeAutoscaling": True,
        "autoscalerOptions": {"idleTimeoutSeconds": 300},
        "headGroupSpec": {"rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0",
                                             "metrics-export-port": str(METRICS_PORT)},
                          "template": _pod(head, gpu=False)},
        "workerGroupSpecs": [{
            "groupName": "gpu", "replicas": gpu_workers[0], "minReplicas": gpu_workers[0],
            "maxReplicas": gpu_workers[1],
            "rayStartParams": {"num-gpus": "1", "metrics-export-port": str(METRICS_PORT)},
            "template": _pod(worker, gpu=True),
        }],
    }


def raycluster() -> dict[str, Any]:
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "fcray", "labels": dict(LABELS)},
            "spec": cluster_spec()}


def rayjob(name: str, module: str, extra: str = "") -> dict[str, Any]:
    """The RayJob ``fcray-<name>`` running ``python -m <module>`` with the qwen3-0.6b preset, the shared workdir
    and ``extra`` arguments on the ``fcray`` RayCluster."""
    entrypoint = f"python -m {module} --preset qwen3-0.6b --set workdir={WORKDIR}{extra}"
    return {
        "apiVersion": "ray.io/v1", "kind": "RayJob",
        "metadata": {"name": f"fcray-{name}", "labels": dict(LABELS)},
        "spec": {
            # the code is in the image (/app); the job runs on the long-lived RayCluster above
            "entrypoint": f"cd /app && {entrypoint}",
            "clusterSelector": {"ray.io/cluster": "fcray"},
            "submissionMode": "K8sJobMode",
            "backoffLimit": 2,  # a failed submission is retried; training resumes from its checkpoints
        },
    }


# KubeRay names a RayService's Serve service <name>-serve-svc; the bench job load-tests it from the cluster.
SERVED_URL = "http://fcray-serve-serve-svc:8000/v1"


def rayjobs(config: FcrayConfig) -> dict[str, Any]:
    """``{file: RayJob}`` for every stage of the pipeline, in the order a user runs them."""
    return {
        "rayjob-data.yaml": rayjob("data", "jobs.data"),
        "rayjob-sft.yaml": rayjob("sft", "jobs.sft"),
        "rayjob-grpo.yaml": rayjob("grpo", "jobs.grpo"),
        "rayjob-eval.yaml": rayjob("eval", "jobs.eval", " --bfcl"),
        "rayjob-export.yaml": rayjob("export", "jobs.export gguf"),
        "rayjob-bench.yaml": rayjob("bench", "jobs.bench", f" --url {SERVED_URL} --model-id {config.serve.model_id}"),
        "rayjob-sweep.yaml": rayjob("sweep", "tune.sweep"),
    }


def serve_config_text(preset: str = "qwen3-0.6b") -> str:
    """``serve_configs/<preset>.yaml`` without its comment header: the RayService's ``serveConfigV2``."""
    lines = (SERVE_CONFIGS / f"{preset}.yaml").read_text().splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("#"))


def rayservice(config: FcrayConfig) -> dict[str, Any]:
    return {
        "apiVersion": "ray.io/v1", "kind": "RayService",
        "metadata": {"name": "fcray-serve", "labels": dict(LABELS)},
        "spec": {
            "serveConfigV2": serve_config_text(config.preset),
            "rayClusterConfig": cluster_spec(gpu_workers=(config.serve.min_replicas, config.serve.max_replicas),
                                             serves=True),
        },
    }


def podmonitor() -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
        "metadata": {"name": "fcray-ray", "labels": {**LABELS, "release": "prometheus"}},
        "spec": {"selector": {"matchLabels": dict(LABELS)},
                 "podMetricsEndpoints": [{"port": "metrics", "interval": "10s", "relabelings": [
                     {"sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"], "targetLabel": "ray_io_cluster"}]}]},
    }


def dashboard_configmap() -> dict[str, Any]:
    from fcray.serve.dashboard import dashboard

    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "fcray-grafana-dashboard", "labels": {**LABELS, "grafana_dashboard": "1"}},
        "data": {"fcray-serving.json": json.dumps(dashboard(), indent=2)},
    }


def pvc() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": PVC, "labels": dict(LABELS)},
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "200Gi"}}}}


def manifests(config: FcrayConfig) -> dict[str, Any]:
    """``{relative path: object or list of objects}`` of everything under ``kuberay/``."""
    return {
        "shared-volume.yaml": pvc(),
        "raycluster.yaml": raycluster(),
        **rayjobs(config),
        "rayservice.yaml": rayservice(config),
        "monitoring/podmonitor.yaml": podmonitor(),
        "monitoring/grafana-dashboard-configmap.yaml": dashboard_configmap(),
    }


HEADER = "# Generated by `fcray serve --write-config --preset qwen3-0.6b` (fcray/serve/kuberay.py). Do not edit.\n"


class _Literal(str):
    pass


yaml.SafeDumper.add_representer(_Literal, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|"))


def _literal_blocks(obj: Any) -> Any:
    """Multi-line strings (serveConfigV2, the dashboard JSON) as YAML block scalars, readable in review."""
    if isinstance(obj, dict):
        return {k: _literal_blocks(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_literal_blocks(v) for v in obj]
    return _Literal(obj) if isinstance(obj, str) and "\n" in obj else obj


def render(obj: Any) -> str:
    return HEADER + yaml.safe_dump(_literal_blocks(obj), sort_keys=False, width=120)


def write_manifests(config: FcrayConfig, folder: Path = KUBERAY) -> list[Path]:
    from fcray.serve.dashboard import write_dashboard

    written = []
    for name, obj in manifests(config).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(obj))
        written.append(path)
    written.append(write_dashboard(folder / "monitoring" / "grafana-dashboard.json"))
    return written
