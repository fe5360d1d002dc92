"""Merge and export: base + LoRA adapter (or full fine-tuned weights) -> a self-contained model folder.

The folder holds the merged weights, the tokenizer with its chat template, the generation config and a
model card with the Hub's metadata (:mod:`fcray.model.card`). :func:`verify_model` reloads it, renders a tool prompt with
its own chat template and generates, so a broken export is caught where it is made;
:func:`check_loads_in_vllm` loads it in a real vLLM engine (in a subprocess, as vLLM wants a main guard).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def merge_to_folder(source: str | Path, out: str | Path, base: str | None = None) -> Path:
    """Write the merged model of ``source`` (a PEFT adapter folder, or a full model folder) to ``out``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    source, out = Path(source), Path(out)
    adapter_config = source / "adapter_config.json"
    if adapter_config.exists():
        from peft import PeftModel

        base = base or json.loads(adapter_config.read_text())["base_model_name_or_path"]
        model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), source).merge_and_unload()
        origin = base
    elif (source / "config.json").exists():
        model = AutoModelForCausalLM.from_pretrained(source)
        origin = str(source)
    else:
        raise FileNotFoundError(f"{source}: neither a PEFT adapter (adapter_config.json) nor a model (config.json)")
    tokenizer_dir = source if (source / "tokenizer_config.json").exists() else Path(origin)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    try:
        model.generation_config = GenerationConfig.from_pretrained(origin)
    except OSError:
        pass  # keep the one the model came with
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def export_model(final: str | Path, run_dir: str | Path, base: str, probe: dict[str, Any], recipe: dict[str, Any],
                 metrics: dict[str, Any] | None = None, data_summary: dict[str, Any] | None = None,
                 stage: str = "sft", root_base: str | None = None, datasets: list[str] | None = None) -> Path:
    """A training run's ``<run_dir>/model``: ``final`` weights merged (SFT and GRPO alike), checked on
    ``probe`` (:func:`verify_model`) and described by its Hub model card (:mod:`fcray.model.card`)."""
    from fcray.model.card import write_model_card

    out = merge_to_folder(final, Path(run_dir) / "model", base=base)
    write_model_card(out, stage, base, recipe, root_base, datasets, data_summary, metrics, verify_model(out, probe))
    return out


def verify_model(model_dir: str | Path, example: dict[str, Any], max_new_tokens: int = 48) -> dict[str, Any]:
    """Reload ``model_dir``, render ``example``'s tool prompt with its chat template, generate greedily."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fcray.data.export import render_prompt
    from fcray.toolcall import parse_completion

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    prompt = render_prompt(example, tokenizer)
    if "<tools>" not in prompt:
        raise ValueError(f"{model_dir}: the chat template did not render the tools")
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    completion = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    return {"example": example["id"], "prompt_tokens": int(inputs["input_ids"].shape[1]),
            "completion": completion, "parse_status": parse_completion(completion).status}


_VLLM_CHECK = r"""
import json, sys
if __name__ == "__main__":
    from vllm import LLM, SamplingParams
    llm = LLM(model=sys.argv[1], enforce_eager=True, max_model_len=1024, kv_cache_memory_bytes=64 * 2**20,
              max_num_seqs=4, seed=0)
    out = llm.generate(["<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"],
                       SamplingParams(max_tokens=8, temperature=0))
    print("FCRAY_VLLM_RESULT " + json.dumps({"text": out[0].outputs[0].text,
                                              "tokens": len(out[0].outputs[0].token_ids)}))
"""


def check_loads_in_vllm(model_dir: str | Path, timeout: float = 600) -> dict[str, Any]:
    """Load ``model_dir`` in vLLM (CPU or GPU, whichever is installed) and generate 8 tokens."""
    env = {**os.environ, "VLLM_HOST_IP": os.environ.get("VLLM_HOST_IP", "127.0.0.1")}
    proc = subprocess.run([sys.executable, "-c", _VLLM_CHECK, str(model_dir)], capture_output=True, text=True,
                          timeout=timeout, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("FCRAY_VLLM_RESULT "):
            return json.loads(line.split(" ", 1)[1])
    raise RuntimeError(f"vLLM could not load {model_dir} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
