"""Weight sync: the policy's current weights -> every vLLM rollout engine, in memory, after each update.

Two halves, one module:

* Trainer side — :func:`policy_weights` turns the training model into the ``(name, tensor)`` list vLLM's
  ``model.load_weights`` accepts: Hugging Face parameter names, LoRA merged into the base weights (each
  layer's delta added to a copy of its base weight; the policy itself is not touched), on CPU.
  The list goes once into Ray's object store (``ray.put``); every engine reads the same object, so a sync
  costs one serialisation however many engines there are, and no checkpoint is written to disk.
* Engine side — :class:`WeightReceiver`, installed into vLLM's worker through ``worker_extension_cls``
  and reached with ``LLM.collective_rpc``: it loads the tensors into the running model in place
  (``model.load_weights`` handles vLLM's fused q/k/v and gate/up layouts). The caller then resets vLLM's
  prefix cache, whose KV blocks were computed with the old weights.

Each sync carries a version (the trainer's global step); engines remember the last version they loaded so
a restarted engine, which comes back with the weights it was created from, is detected and re-synced
(:mod:`fcray.engine.vllm_pool`).

On GPU clusters the same calls apply; the object store moves bytes through host memory, which for a 0.6B
policy (1.2 GB in bf16) is well under a second per sync on one node. vLLM's NCCL weight-transfer engine is
the faster path for multi-node, large-policy setups and is not wired in here (see docs/training.md).
"""

from __future__ import annotations

import time
from typing import Any

NamedTensors = list[tuple[str, Any]]


def policy_weights(model: Any) -> NamedTensors:
    """The weights a vLLM engine should load for ``model`` (a transformers model, a PEFT model or a DDP
    wrapper of either), as CPU tensors with Hugging Face names."""
    import torch

    model = getattr(model, "module", model)  # unwrap DDP
    with torch.no_grad():
        if hasattr(model, "get_base_model") and hasattr(model, "peft_config"):
            return _base_state(model.get_base_model(), _lora_deltas(model.get_base_model()))
        return _base_state(model, {})


def _lora_deltas(base: Any) -> dict[str, Any]:
    """``{"<module>.weight": B @ A * scale}`` of every LoRA layer's active adapters. Computed beside the
    base weights rather than merged into them and back out: merge + unmerge is not exact in floating point
    and would drift the frozen base a little at every sync."""
    from peft.tuners.lora import LoraLayer

    deltas = {}
    for name, module in base.named_modules():
        if isinstance(module, LoraLayer):
            adapters = [a for a in module.active_adapters if a in module.lora_A]
            if adapters:
                deltas[f"{name}.weight"] = sum(module.get_delta_weight(a) for a in adapters)
    return deltas


def _base_state(model: Any, deltas: dict[str, Any]) -> NamedTensors:
    out: NamedTensors = []
    for name, tensor in model.state_dict().items():
        if "lora_" in name or "modules_to_save" in name:
            continue
        # PEFT wraps targeted layers: "...q_proj.base_layer.weight" is the base of "...q_proj.weight".
        name = name.replace(".base_layer.", ".")
        tensor = tensor.detach()
        if name in deltas:
            tensor = tensor + deltas[name].to(tensor.dtype)
        out.append((name, tensor.to("cpu", copy=True).contiguous()))
    if getattr(model.config, "tie_word_embeddings", False):
        out = [(n, t) for n, t in out if n != "lm_head.weight"]  # vLLM ties it to the embedding itself
    return out


class WeightReceiver:
    """Mixed into vLLM's worker class (``LLM(worker_extension_cls="fcray.engine.weight_sync.WeightReceiver")``);
    vLLM calls these methods on the worker, so ``self`` is the worker and ``self.model_runner.model`` the
    running model."""

    def fcray_load_weights(self, weights: NamedTensors) -> int:
        # vLLM post-processes weights after loading (fused layouts, CPU kernel packing) and drops the
        # loaders of the processed parameters; its layerwise-reload hooks restore them for the load and redo
        # the processing afterwards (what vLLM's own checkpoint-format weight-transfer engines do).
        from vllm.model_executor.model_loader.reload import finalize_layerwise_reload, initialize_layerwise_reload

        model = self.model_runner.model  # type: ignore[attr-defined]
        initialize_layerwise_reload(model)
        loaded = model.load_weights(weights=iter(weights))
        finalize_layerwise_reload(model, self.model_config)  # type: ignore[attr-defined]
        _retie_embeddings(model)
        return len(loaded) if loaded is not None else len(weights)


def _retie_embeddings(model: Any) -> None:
    """A tied output head (Qwen3-0.6B and the tiny model tie it to the input embedding) receives no weights
    of its own, so the reload does not redo its post-processing: on CPU it keeps a packed copy of the old
    embedding for its matmul. Point it at the new embedding and rebuild that kernel."""
    config = getattr(model, "config", None)
    lm_head, inner = getattr(model, "lm_head", None), getattr(model, "model", None)
    embed = getattr(inner, "embed_tokens", None)
    if not (getattr(config, "tie_word_embeddings", False) and lm_head is not None and embed is not None):
        return
    if lm_head.weight is not embed.weight:
        lm_head.weight = embed.weight
    quant_method = getattr(lm_head, "quant_method", None)
    if quant_method is not None and hasattr(quant_method, "process_weights_after_loading"):
        quant_method.process_weights_after_loading(lm_head)


def load_into_engine(llm: Any, weights: NamedTensors) -> float:
    """Load ``weights`` into a running ``vllm.LLM`` and drop its now-stale prefix cache; returns seconds."""
    start = time.perf_counter()
    llm.collective_rpc("fcray_load_weights", args=(weights,))
    llm.reset_prefix_cache()
    return time.perf_counter() - start
