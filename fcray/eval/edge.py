"""GGUF files scored like every other model, and the edge figures an offline deployment is judged by.

:func:`score_gguf` serves each quantized file of a model with llama.cpp (:mod:`fcray.edge.server`),
scores it on the validation set through the endpoint backend (the same checks as A, B, C and served C,
into ``<workdir>/eval/gguf-<type>``), and measures it (:func:`measure`): file size, server load time and
peak resident memory, and at concurrency 1 (one request at a time, as on a laptop) the time to first token
seen by a streaming client and llama.cpp's own timings of the prompt (prefill tokens/s) and of generation
(decode tokens/s). The record is ``<workdir>/edge/results.json``; the report shows it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np


def _first_token_and_timings(client, model: str, example: dict[str, Any], max_tokens: int,
                             extra_body: dict[str, Any] | None = None) -> tuple[float, dict]:
    from fcray.eval.backends import openai_messages

    started = time.perf_counter()
    first, timings = None, {}
    stream = client.chat.completions.create(model=model, messages=openai_messages(example),
                                            tools=example["tools"] or None, max_tokens=max_tokens, temperature=0,
                                            stream=True, extra_body=extra_body)
    for chunk in stream:
        delta = chunk.choices[0].delta if chunk.choices else None
        if first is None and delta is not None and (delta.content or delta.tool_calls or
                                                     (delta.model_extra or {}).get("reasoning_content")):
            first = time.perf_counter() - started
        timings = (chunk.model_extra or {}).get("timings") or timings
    return (first if first is not None else time.perf_counter() - started), timings


EDGE_METRICS = ("exact_match", "name_accuracy", "args_f1", "parse_rate", "irrelevance_accuracy")


def gguf_label(kind: str) -> str:
    """The report's row of a GGUF file of model C: ``C (GGUF Q8_0)``."""
    return f"C (GGUF {kind.upper()})"


def edge_eval_config(config: Any, url: str, source_model: str):
    """eval.* for scoring a llama.cpp server: the endpoint backend; with decoding.constrained, completions of
    the prompt fcray renders with the source model's template (llama.cpp's chat endpoint refuses a grammar
    together with tools)."""
    from dataclasses import replace

    api = "completions" if config.decoding.constrained else config.eval.endpoint_api
    return replace(config.eval, backend="endpoint", endpoint=url, concurrency=config.edge.parallel, endpoint_api=api,
                   tokenizer=(config.eval.tokenizer or source_model) if api == "completions" else config.eval.tokenizer)


def score_gguf(config: Any, model: str | Path, log=print) -> dict[str, Any]:
    """Export ``model`` to GGUF (``edge.quantizations``, checked by llama.cpp), then score and measure
    every quantized file; writes and returns ``<workdir>/edge/results.json``."""
    import json
    import shutil

    from fcray.data.pipeline import validation_examples
    from fcray.edge.server import LlamaServer
    from fcray.edge.stage import export_model
    from fcray.eval.run import run_eval
    from fcray.workdir import edge_results, eval_dir

    record = export_model(config, str(model), log=log)
    examples = validation_examples(config.workdir)
    files = {}
    for kind, info in record["files"].items():
        if kind in ("f16", "bf16"):  # checked above; the rows are the quantized files as llama.cpp serves them
            continue
        out = eval_dir(config) / f"gguf-{kind}"
        shutil.rmtree(out, ignore_errors=True)  # a file name says nothing of which weights: score anew
        with LlamaServer(info["path"], config.edge, record["name"], log_path=out.parent / f"gguf-{kind}.server.log") as server:
            results = run_eval(record["name"], examples, edge_eval_config(config, server.url, record["model"]), out,
                               log=log, decoding=config.decoding)
            figures = measure(server, examples[:17], max_tokens=config.eval.max_new_tokens)
        files[kind] = {**figures, "eval": str(out), "tensor_types": info["tensor_types"],
                       **{m: (results["metrics"].get(m) or {}).get("mean") for m in EDGE_METRICS}}
        log(f"[fcray edge] {gguf_label(kind)}: {figures['file_bytes'] / 2**20:.1f} MiB, exact match "
            f"{files[kind]['exact_match']}, TTFT P50 {(figures['ttft_ms'] or {}).get('p50')} ms, "
            f"{figures['generation_tokens_per_s']} tokens/s generated")
    edge = {"model": record["model"], "name": record["name"], "threads": config.edge.threads,
            "f16_bytes": record["files"]["f16"]["bytes"], "checks": record.get("checks"), "files": files}
    path = edge_results(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(edge, indent=1) + "\n")
    return edge


def measure(server, examples: list[dict[str, Any]], max_tokens: int = 64,
            extra_body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Edge figures of the file ``server`` serves, over ``examples`` sent one at a time (the first one
    is a warm-up and not counted); ``extra_body`` goes with each request (``{"ignore_eos": True}``: every
    reply is ``max_tokens`` long, for speed measurements)."""
    import openai

    client = openai.OpenAI(base_url=server.url, api_key="EMPTY", max_retries=0, timeout=300)
    _first_token_and_timings(client, server.alias, examples[0], max_tokens, extra_body)
    ttft, prompt_rates, decode_rates, prompt_tokens, decoded = [], [], [], 0, 0
    for example in examples[1:]:
        first, timings = _first_token_and_timings(client, server.alias, example, max_tokens, extra_body)
        ttft.append(first * 1000)
        if timings.get("prompt_n"):
            prompt_rates.append(timings["prompt_per_second"])
            prompt_tokens += timings["prompt_n"]
        if timings.get("predicted_n", 0) > 1:
            decode_rates.append(timings["predicted_per_second"])
            decoded += timings["predicted_n"]
    client.close()
    return {
        "file_bytes": Path(server.gguf).stat().st_size,
        "load_seconds": round(server.load_seconds, 3),
        "peak_rss_bytes": server.peak_rss_bytes(),
        "requests": len(ttft),
        "threads": server.edge.threads,
        "ttft_ms": {f"p{q}": round(float(np.percentile(ttft, q)), 2) for q in (50, 95, 99)} if ttft else None,
        "prompt_tokens_per_s": round(float(np.median(prompt_rates)), 1) if prompt_rates else None,
        "generation_tokens_per_s": round(float(np.median(decode_rates)), 1) if decode_rates else None,
        "prompt_tokens": prompt_tokens, "generated_tokens": decoded,
    }
