"""The Serve app's configuration, generated from fcray's config: the one source of serve_configs/*.yaml and
of the KubeRay RayService's ``serveConfigV2``.

The app is Ray Serve LLM's OpenAI app (``ray.serve.llm.build_openai_app``) behind fcray's thin builder
(:func:`fcray.serve.app.build_app`), whose only job is to resolve ``model_source: fcray:<...>`` to a model
folder on the node (the embedded tiny model, or the newest model of the pipeline); every other field is
Ray Serve LLM's own ``LLMConfig``, with the vLLM engine settings in ``engine_kwargs``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from fcray.config import FcrayConfig

APP_NAME = "fcray"
BUILDER = "fcray.serve.app:build_app"
INGRESS = "fcray.serve.ingress:FcrayIngress"  # OpenAI-style errors for unknown models and invalid tool schemas
SERVER_CLS = "fcray.serve.llm_server:FcrayLLMServer"  # LLMServer whose Serve request log survives vLLM's logging setup
SERVE_CONFIGS = Path(__file__).resolve().parents[2] / "serve_configs"


def engine_kwargs(config: FcrayConfig) -> dict[str, Any]:
    """vLLM engine settings, all in one place: tool calling on with the Hermes parser, the scheduler's
    limits set explicitly, and what vLLM's CPU backend needs."""
    s, e = config.serve, config.serve.engine
    kwargs: dict[str, Any] = {
        "enable_auto_tool_choice": True,
        "tool_call_parser": s.tool_call_parser,
        **({"reasoning_parser": s.reasoning_parser} if s.reasoning_parser else {}),
        "max_num_seqs": e.max_num_seqs,
        "max_num_batched_tokens": e.max_num_batched_tokens,
        "max_model_len": e.max_model_len,
        "dtype": e.dtype,  # null in the config = model.dtype, resolved by FcrayConfig
        "enforce_eager": e.enforce_eager,
    }
    if config.decoding.constrained:
        # A vLLM engine has one structured-outputs backend, bound by its first constrained request; fcray's
        # grammars are LLGuidance Lark (the ingress builds required/named from them too), so bind LLGuidance.
        kwargs["structured_outputs_config"] = {"backend": "guidance"}
    if s.accelerator == "cpu":
        kwargs["kv_cache_memory_bytes"] = e.kv_cache_memory_bytes  # the NUMA-based default fails on CPU
    else:
        kwargs["gpu_memory_utilization"] = e.gpu_memory_utilization
    return kwargs


def cli_args(kwargs: dict[str, Any]) -> list[str]:
    """``vllm serve``'s command-line flags for engine keyword arguments (what :func:`engine_kwargs` returns), so
    a bare vLLM server runs exactly the Serve app's engine: ``True`` is a bare flag, ``False`` and ``None`` are
    left to vLLM's default, a dict goes as JSON.

    >>> cli_args({"enforce_eager": True, "max_num_seqs": 8, "reasoning_parser": None,
    ...           "structured_outputs_config": {"backend": "guidance"}})
    ['--enforce-eager', '--max-num-seqs', '8', '--structured-outputs-config', '{"backend": "guidance"}']
    """
    args: list[str] = []
    for key, value in kwargs.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not None and value is not False:
            args += [flag, json.dumps(value) if isinstance(value, dict) else str(value)]
    return args


def llm_config(config: FcrayConfig, model_source: str) -> dict[str, Any]:
    """Ray Serve LLM's ``LLMConfig`` as plain data (what a serve deploy YAML holds)."""
    s = config.serve
    out: dict[str, Any] = {
        "model_loading_config": {"model_id": s.model_id, "model_source": model_source},
        "engine_kwargs": engine_kwargs(config),
        "deployment_config": {
            "autoscaling_config": {"min_replicas": s.min_replicas, "max_replicas": s.max_replicas,
                                   "target_ongoing_requests": s.target_ongoing_requests},
            "max_ongoing_requests": s.max_ongoing_requests,
        },
        "log_engine_metrics": True,  # ray_vllm_* metrics on Ray's metrics port
        **({"experimental_configs": {"stream_batching_interval_ms": s.stream_batching_interval_ms}}
           if s.stream_batching_interval_ms is not None else {}),
        # LLMServer with Serve's request log kept alive after vLLM's logging setup (else ~2 KiB per request
        # stays in the replica's memory for good: fcray/serve/llm_server.py)
        "server_cls": SERVER_CLS,
    }
    if s.accelerator == "cpu":
        out["accelerator_config"] = {"kind": "cpu"}
        out["placement_group_config"] = {"bundles": [{"CPU": s.engine.cpus}]}
        out["runtime_env"] = {"env_vars": {"VLLM_HOST_IP": "127.0.0.1"}}  # vLLM CPU binds its rendezvous here
    else:
        if s.accelerator_type:
            out["accelerator_type"] = s.accelerator_type
        out["placement_group_config"] = {"bundles": [{"CPU": s.engine.cpus, "GPU": s.engine.gpus}]}
    return out


def default_model_source(config: FcrayConfig) -> str:
    """What a generated config serves unless told otherwise: ``fcray:<preset model>`` resolved by the
    builder on the cluster (``fcray:tiny`` = the embedded model, built on first use)."""
    if config.serve.model != "pipeline":
        return config.serve.model if config.serve.model != "tiny" else "fcray:tiny"
    return "fcray:tiny" if config.model.name_or_path == "tiny" else config.model.name_or_path


def ingress_cls_config(config: FcrayConfig) -> dict[str, Any]:
    """fcray's ingress with the serve defaults it applies to requests, and the decoding settings when tool
    calls are constrained (absent otherwise)."""
    import dataclasses

    s = config.serve
    kwargs: dict[str, Any] = {"enable_thinking": s.enable_thinking, "reasoning_parser": bool(s.reasoning_parser),
                              "limits": {"max_request_bytes": s.max_request_bytes, "max_tools": s.max_tools,
                                         "max_output_tokens": s.max_output_tokens or s.engine.max_model_len}}
    if s.api_key:
        kwargs["api_key"] = s.api_key  # the reference (env:NAME / file:PATH): the ingress reads the key itself
    if config.decoding.constrained:
        kwargs["decoding"] = dataclasses.asdict(config.decoding)
    return {"ingress_cls": INGRESS, "ingress_extra_kwargs": kwargs}


def serve_deploy_config(config: FcrayConfig, model_source: str | None = None) -> dict[str, Any]:
    """A ``serve deploy`` config (Ray's ``ServeDeploySchema``) with one app: fcray's model, OpenAI API at /."""
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": config.serve.host, "port": config.serve.port},
        "applications": [{
            "name": APP_NAME,
            "route_prefix": "/",
            "import_path": BUILDER,
            "args": {"llm_configs": [llm_config(config, model_source or default_model_source(config))],
                     "ingress_cls_config": ingress_cls_config(config)},
        }],
    }


HEADER = ("# Generated by `fcray serve --write-config --preset {preset}` from fcray/config/presets/{preset}.yaml\n"
          "# (serve.* fields). Do not edit by hand: change the preset and regenerate; a test keeps them in sync.\n"
          "# Deploy on a running Ray cluster: serve deploy serve_configs/{preset}.yaml\n")


def render(config: FcrayConfig) -> str:
    return HEADER.format(preset=config.preset) + yaml.safe_dump(serve_deploy_config(config), sort_keys=False)


def write_serve_config(config: FcrayConfig, folder: Path = SERVE_CONFIGS) -> Path:
    path = folder / f"{config.preset}.yaml"
    path.write_text(render(config))
    return path
