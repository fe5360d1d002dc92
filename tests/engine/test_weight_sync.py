"""policy_weights: the tensors an engine loads equal the policy's (LoRA merged), with vLLM's names."""

from __future__ import annotations

import pytest


def test_full_model_weights_are_copies_with_hf_names(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    from fcray.engine.weight_sync import policy_weights

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    weights = dict(policy_weights(model))
    state = model.state_dict()
    assert model.config.tie_word_embeddings and "lm_head.weight" not in weights  # vLLM ties it itself
    assert set(weights) == set(state) - {"lm_head.weight"}
    for name, tensor in weights.items():
        assert torch.equal(tensor, state[name]) and tensor.data_ptr() != state[name].data_ptr(), name


def test_lora_weights_are_merged_and_the_adapter_is_left_trainable(tiny_model_dir):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from fcray.engine.weight_sync import policy_weights

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                                LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"]))
    with torch.no_grad():  # a trained adapter: B != 0
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    before = {n: p.clone() for n, p in peft_model.named_parameters()}
    weights = dict(policy_weights(peft_model))
    for name, param in peft_model.named_parameters():  # unmerged again: base weights and adapter unchanged
        assert torch.equal(param, before[name]), name
    assert set(weights) == set(base.state_dict()) - {"lm_head.weight"}
    reference = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                               LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"]))
    reference.load_state_dict({n: p for n, p in before.items()}, strict=False)
    reference = reference.merge_and_unload()
    for name, tensor in reference.state_dict().items():
        if name != "lm_head.weight":
            assert torch.allclose(weights[name], tensor, atol=1e-6), name
    assert not torch.equal(weights["model.layers.0.self_attn.q_proj.weight"],
                           base.state_dict()["model.layers.0.self_attn.q_proj.weight"])


@pytest.mark.parametrize("n, engines, offset, expected", [
    (8, 2, 0, [(0, slice(0, 4)), (1, slice(4, 8))]),
    (5, 2, 1, [(1, slice(0, 3)), (0, slice(3, 5))]),
    (1, 3, 0, [(0, slice(0, 1))]),
])
def test_pool_splits_requests_contiguously(n, engines, offset, expected):
    from fcray.engine.vllm_pool import RolloutPool

    assert RolloutPool([object()] * engines).split(n, offset) == expected
