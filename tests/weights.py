"""Comparing two saved models' weights (the LoRA tests: what training changed in an exported model)."""

from __future__ import annotations


def changed_weights(base_dir, model_dir) -> tuple[set[str], set[str]]:
    """(names of the tensors that differ between the two models, names of the base's projection weights)."""
    import torch
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_dir).state_dict()
    model = AutoModelForCausalLM.from_pretrained(model_dir).state_dict()
    assert base.keys() == model.keys(), sorted(base.keys() ^ model.keys())[:6]
    changed = {name for name in base if not torch.equal(base[name], model[name])}
    return changed, {name for name in base if name.endswith("proj.weight")}
