"""In-process generation with Hugging Face ``generate`` (batched, greedy by default).

The simplest backend: no server, no vLLM — what SFT uses to check a model it just trained. Prompts are
rendered with the model's own chat template and the examples' tools (``render_prompt``).
"""

from __future__ import annotations

from typing import Any


def generate_hf(model_dir: str, examples: list[dict[str, Any]], max_new_tokens: int = 128, batch_size: int = 16,
                enable_thinking: bool = False) -> list[str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fcray.data.export import render_prompt

    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    completions: list[str] = []
    for start in range(0, len(examples), batch_size):
        batch = examples[start:start + batch_size]
        prompts = [render_prompt(e, tokenizer, enable_thinking) for e in batch]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=tokenizer.pad_token_id)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        completions += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return completions
