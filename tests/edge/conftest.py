"""GGUF exports of the tiny model, built once per package.

Random tiny weights never call a tool, so the serving tests use a copy of the tiny model trained for a
few steps on one conversation until it answers that prompt with the call: a real model that calls."""

from __future__ import annotations

import shutil

import pytest

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                            "parameters": {"type": "object", "properties": {
                                                "city": {"type": "string"}}, "required": ["city"]}}}
QUESTION = [{"role": "user", "content": "What is the weather in Oslo?"}]
OSLO_CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}


@pytest.fixture(scope="package")
def exported(tiny_model_dir, tmp_path_factory):
    """``export_gguf`` of the random-init tiny model at f16, q8_0, q4_k_m: its record."""
    from fcray.edge.gguf import export_gguf

    return export_gguf(tiny_model_dir, tmp_path_factory.mktemp("gguf"), ("f16", "q8_0", "q4_k_m"), name="tiny")


@pytest.fixture(scope="package")
def calling_model(tiny_model_dir, tmp_path_factory):
    """The tiny model trained (all weights, 80 AdamW steps) to answer QUESTION with OSLO_CALL."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("calling") / "model"
    shutil.copytree(tiny_model_dir, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    conversation = [*QUESTION, {"role": "assistant", "content": "", "tool_calls": [OSLO_CALL]}]
    text = tokenizer.apply_chat_template(conversation, tools=[WEATHER], enable_thinking=False, tokenize=False)
    prompt = tokenizer.apply_chat_template(QUESTION, tools=[WEATHER], enable_thinking=False, tokenize=False,
                                           add_generation_prompt=True)
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    labels = ids.clone()
    labels[0, :len(tokenizer(prompt)["input_ids"])] = -100  # loss on the answer only: it converges in ~50 steps
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(80):
        loss = model(ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="package")
def calling_export(calling_model):
    from fcray.edge.gguf import export_gguf

    return export_gguf(calling_model, calling_model.parent / "gguf", ("f16", "q8_0", "q4_k_m"), name="calling")
