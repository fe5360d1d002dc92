"""The PEFT LoRA adapter SFT and GRPO train, from the one config section both use (``<stage>.lora``)."""

from __future__ import annotations

from typing import Any


def peft_lora_config(lora: Any) -> Any:
    """PEFT's ``LoraConfig`` for a :class:`fcray.config.LoraAdapterConfig`, or None when the adapter is off
    (the stage trains all weights)."""
    if not lora.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=lora.target_modules, task_type="CAUSAL_LM")
