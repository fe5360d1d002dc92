"""In-process generation with Hugging Face ``generate`` (batched, greedy by default).

The simplest backend: no server, no vLLM — what a quick check after training uses. Prompts are rendered
with the model's own chat template and the examples' tools (``render_prompt``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_for_generation(model_dir: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not Path(model_dir).is_dir() and Path(model_dir).anchor:  # an absolute or ./ path that is not there
        raise FileNotFoundError(f"model folder {model_dir} does not exist")
    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    return model, tokenizer


def generate_with(model: Any, tokenizer: Any, examples: list[dict[str, Any]], max_new_tokens: int = 128,
                  batch_size: int = 16, enable_thinking: bool = False, temperature: float = 0.0,
                  seed: int = 0) -> list[str]:
    import torch

    from fcray.data.export import render_prompt

    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    torch.manual_seed(seed)
    completions: list[str] = []
    for start in range(0, len(examples), batch_size):
        batch = examples[start:start + batch_size]
        prompts = [render_prompt(e, tokenizer, enable_thinking) for e in batch]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                    **sampling)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        completions += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return completions
