"""The import path of fcray's Serve app (``fcray.serve.app:build_app``): Ray Serve LLM's OpenAI app, with
``model_source: fcray:<name>`` resolved to a model folder on the node first.

``fcray:tiny`` is the embedded tiny model (built into ``FCRAY_CACHE`` on first use); ``fcray:<folder>`` is
a folder such as ``/mnt/shared/fcray/runs/grpo-qwen3-0.6b/model``. Anything else (a Hub id, a local path,
an s3:// mirror config) is passed to Ray Serve LLM untouched.
"""

from __future__ import annotations

import copy
from typing import Any

PREFIX = "fcray:"


def resolve_model_source(source: Any) -> Any:
    if not isinstance(source, str) or not source.startswith(PREFIX):
        return source
    name = source[len(PREFIX):]
    if name == "tiny":
        from fcray.config import TinyModelConfig
        from fcray.model.tiny import ensure_tiny_model

        return str(ensure_tiny_model(TinyModelConfig()))
    return name


def build_app(args: dict[str, Any]):
    """``serve deploy`` entry: ``args`` as ``ray.serve.llm.build_openai_app`` takes them."""
    from ray.serve.llm import build_openai_app

    args = copy.deepcopy(dict(args))
    for llm in args.get("llm_configs", []):
        if isinstance(llm, dict):
            loading = llm.setdefault("model_loading_config", {})
            loading["model_source"] = resolve_model_source(loading.get("model_source") or loading.get("model_id"))
    return build_openai_app(args)
