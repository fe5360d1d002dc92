"""Each GGUF file judged by llama.cpp itself: does it tokenize as the Hugging Face tokenizer does, and
does it generate what the Hugging Face model generates?

Both run against llama.cpp's server (:class:`fcray.edge.server.LlamaServer`) on the file, so what is
checked is what ``fcray edge serve`` serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fcray.edge import EdgeError

GREEDY_TOKENS = 16


class TokenizationMismatch(EdgeError):
    pass


def first_difference(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def compare_tokenization(server, tokenizer, prompts: list[str]) -> dict[str, Any]:
    """llama.cpp's ids of every prompt against the Hugging Face tokenizer's; raises on the first difference."""
    tokens = 0
    for index, prompt in enumerate(prompts):
        expected = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        got = server.tokenize(prompt)
        if got != expected:
            at = first_difference(got, expected)
            raise TokenizationMismatch(
                f"prompt {index}: llama.cpp tokenizes differently from the Hugging Face tokenizer at token {at} "
                f"(llama.cpp {got[at:at + 5]}, Hugging Face {expected[at:at + 5]}; text "
                f"{tokenizer.decode(expected[max(0, at - 5):at + 5])!r})")
        tokens += len(expected)
    return {"prompts": len(prompts), "tokens": tokens, "identical": len(prompts)}


def greedy_ids(server, prompt: str, n: int = GREEDY_TOKENS) -> list[int]:
    reply = server.get("/completion", {"prompt": prompt, "n_predict": n, "temperature": 0.0, "top_k": 1,
                                       "return_tokens": True, "cache_prompt": False})
    return reply["tokens"]


def hf_greedy_ids(model, tokenizer, prompt: str, n: int = GREEDY_TOKENS) -> list[int]:
    import torch

    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=n, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return out[0, ids.shape[1]:].tolist()


def check_files(record: dict[str, Any], prompts: list[str], edge: Any, generation_prompts: int = 4,
                log=print) -> dict[str, Any]:
    """For every file of an export record: tokenization of ``prompts``, greedy agreement with the Hugging
    Face model on the first ``generation_prompts``, load time and peak memory of the server."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fcray.edge.server import LlamaServer

    tokenizer = AutoTokenizer.from_pretrained(record["model"])
    model = AutoModelForCausalLM.from_pretrained(record["model"], dtype="float32").eval()
    reference = [hf_greedy_ids(model, tokenizer, p) for p in prompts[:generation_prompts]]
    checks = {}
    for kind, info in record["files"].items():
        log_path = Path(info["path"]).with_suffix(".check.log")
        with LlamaServer(info["path"], edge, record["name"], log_path=log_path) as server:
            tokenization = compare_tokenization(server, tokenizer, prompts)
            got = [greedy_ids(server, p) for p in prompts[:generation_prompts]]
            agree = sum(first_difference(g, r) for g, r in zip(got, reference))
            checks[kind] = {"tokenization": tokenization, "load_seconds": round(server.load_seconds, 3),
                            "peak_rss_bytes": server.peak_rss_bytes(),
                            "greedy_prefix_agreement": round(agree / (GREEDY_TOKENS * len(reference)), 3),
                            "sample": tokenizer.decode(got[0]) if got else ""}
        log(f"[fcray export] {Path(info['path']).name}: llama.cpp tokenizes all {len(prompts)} prompts as Hugging "
            f"Face does; greedy tokens shared with the Hugging Face model {checks[kind]['greedy_prefix_agreement']:.2f}")
    return checks
