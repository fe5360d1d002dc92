"""KubeRay manifests: generated from the presets (never copied by hand), valid against Kubernetes' schemas
(pod templates) and Ray's ServeDeploySchema (the RayService's serveConfigV2), consistent with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from fcray.config import load_config
from fcray.serve.config import SERVE_CONFIGS
from fcray.serve.dashboard import dashboard
from fcray.serve.kuberay import IMAGE, KUBERAY, RAY_VERSION, WORKDIR, manifests, render

K8S_VERSION = "1.33.0"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def objects():
    return {name: yaml.safe_load((KUBERAY / name).read_text()) for name in manifests(load_config("qwen3-0.6b"))}


def test_committed_manifests_are_generated():
    config = load_config("qwen3-0.6b")
    for name, obj in manifests(config).items():
        assert (KUBERAY / name).read_text() == render(obj), (
            f"kuberay/{name} is out of date: run `fcray serve --write-config --preset qwen3-0.6b`")
    assert json.loads((KUBERAY / "monitoring" / "grafana-dashboard.json").read_text()) == dashboard()


def test_rayservice_embeds_the_serve_config_and_it_validates(objects):
    from ray.serve.schema import ServeDeploySchema

    embedded = yaml.safe_load(objects["rayservice.yaml"]["spec"]["serveConfigV2"])
    assert embedded == yaml.safe_load((SERVE_CONFIGS / "qwen3-0.6b.yaml").read_text())
    ServeDeploySchema.model_validate(embedded)


def _pod_templates(obj):
    spec = obj.get("spec", {}).get("rayClusterConfig", obj.get("spec", {}))
    if "headGroupSpec" not in spec:
        return []
    return [spec["headGroupSpec"]["template"]] + [g["template"] for g in spec["workerGroupSpecs"]]


def test_pod_templates_and_core_objects_validate_against_kubernetes_schemas(objects):
    checked = 0
    for name, obj in objects.items():
        if obj["apiVersion"] == "v1":
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
            checked += 1
        for template in _pod_templates(obj):
            wrapped = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": f"check-{checked}"},
                       "template": template}
            kubernetes_validate.validate(wrapped, K8S_VERSION, strict=True)
            checked += 1
    assert checked >= 6  # PVC, ConfigMap, 2 templates of the RayCluster, 2 of the RayService


def test_a_broken_pod_template_is_caught():
    bad = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "x"},
           "template": {"spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": "8 cpus"}}]}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_images_resources_and_paths_are_consistent(objects):
    dockerfile = (KUBERAY / "Dockerfile").read_text()
    assert f"rayproject/ray:{RAY_VERSION}-" in dockerfile and IMAGE in dockerfile
    serve = yaml.safe_load(objects["rayservice.yaml"]["spec"]["serveConfigV2"])
    llm = serve["applications"][0]["args"]["llm_configs"][0]
    for name, obj in objects.items():
        for template in _pod_templates(obj):
            (container,) = template["spec"]["containers"]
            assert container["image"] == IMAGE, name
            assert any(p["name"] == "metrics" for p in container["ports"])  # what the PodMonitor scrapes
            assert container["resources"]["requests"] == container["resources"]["limits"]
        spec = obj.get("spec", {}).get("rayClusterConfig", obj.get("spec", {}))
        if "workerGroupSpecs" in spec:
            assert spec["rayVersion"] == RAY_VERSION
            for group in spec["workerGroupSpecs"]:
                gpus = group["template"]["spec"]["containers"][0]["resources"]["limits"].get("nvidia.com/gpu", "0")
                assert group["rayStartParams"].get("num-gpus", "0") == gpus
                assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
                # a serve replica (its placement bundle) fits on one worker
                bundle = llm["placement_group_config"]["bundles"][0]
                assert bundle["GPU"] <= int(gpus) and bundle["CPU"] <= float(
                    group["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"])
    # the served model is model C where the GRPO RayJob writes it
    assert llm["model_loading_config"]["model_source"] == f"{WORKDIR}/runs/grpo-qwen3-0.6b/model"
    scaling = llm["deployment_config"]["autoscaling_config"]
    workers = objects["rayservice.yaml"]["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    assert workers["maxReplicas"] >= scaling["max_replicas"]
    for stage in ("sft", "grpo", "eval"):
        entrypoint = objects[f"rayjob-{stage}.yaml"]["spec"]["entrypoint"]
        module = re.search(r"python -m (jobs\.\w+)", entrypoint).group(1)
        assert (REPO / (module.replace(".", "/") + ".py")).exists() and f"workdir={WORKDIR}" in entrypoint and "--preset qwen3-0.6b" in entrypoint


def test_dashboard_configmap_provisions_the_tested_dashboard(objects):
    configmap = objects["monitoring/grafana-dashboard-configmap.yaml"]
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"]["fcray-serving.json"]) == dashboard()
    monitor = objects["monitoring/podmonitor.yaml"]
    assert monitor["spec"]["selector"]["matchLabels"] == objects["raycluster.yaml"]["spec"]["headGroupSpec"][
        "template"]["metadata"]["labels"]


def test_the_served_cluster_takes_its_key_and_the_hub_token_from_secrets(objects):
    """The RayService's pods get FCRAY_API_KEY from the fcray-api-key Secret (required: no open API), which is
    where the embedded serve config's serve.api_key points; every pod may get HF_TOKEN (optional Secret)."""
    from fcray.serve.kuberay import API_KEY_ENV, API_KEY_SECRET, HF_TOKEN_SECRET

    serve = yaml.safe_load(objects["rayservice.yaml"]["spec"]["serveConfigV2"])
    ingress = serve["applications"][0]["args"]["ingress_cls_config"]["ingress_extra_kwargs"]
    assert ingress["api_key"] == f"env:{API_KEY_ENV}" and serve["http_options"]["host"] == "0.0.0.0"
    for name, obj in objects.items():
        for template in _pod_templates(obj):
            env = {e["name"]: e for e in template["spec"]["containers"][0]["env"]}
            assert "value" not in env["HF_TOKEN"], name  # never a literal
            assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": HF_TOKEN_SECRET, "key": "token",
                                                                    "optional": True}
            # the RayService cannot start without it; the pipeline's cluster has it if created (the bench job)
            assert env[API_KEY_ENV]["valueFrom"]["secretKeyRef"] == {
                "name": API_KEY_SECRET, "key": "api-key", "optional": name != "rayservice.yaml"}, name
    text = "\n".join((KUBERAY / name).read_text() for name in objects)
    assert not re.search(r"(sk-|hf_)[A-Za-z0-9]{8,}", text)  # no key in a manifest
