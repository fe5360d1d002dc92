"""The load generator: closed-loop users streaming chat completions from an OpenAI-compatible endpoint.

Each cell of the matrix runs ``concurrency`` users, each sending its next request as soon as the previous
one finishes, until ``requests_per_cell`` requests are done or ``max_seconds_per_cell`` has passed. Every
request streams (``stream_options.include_usage``) and asks for exactly ``max_tokens`` new tokens
(``ignore_eos``), so cells compare like with like. Per request: time to the first token, the gaps between
tokens, end-to-end latency, prompt and output tokens. Per cell: TTFT, TPOT (time per output token after the
first) and end-to-end latency at P50/P95/P99, and throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fcray.config import BenchConfig

if TYPE_CHECKING:
    from fcray.bench.breakdown import Breakdown
    from fcray.bench.resources import ResourceSource

# Every request is a function-calling request: these tools ride along (the chat template puts their schemas
# in the prompt, so they count in its length) and the user's text is sized to the cell's prompt length.
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
                                      "parameters": {"type": "object", "properties": {
                                          "city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                                          "required": ["city"]}}},
    {"type": "function", "function": {"name": "search_flights", "description": "Flights between two airports",
                                      "parameters": {"type": "object", "properties": {
                                          "origin": {"type": "string"}, "destination": {"type": "string"},
                                          "date": {"type": "string"}}, "required": ["origin", "destination"]}}},
]
FILLER = ("the quick brown fox jumps over the lazy dog while seven wizards quietly judge boxing matches "
          "near a frozen lake ").split()


@dataclass
class RequestResult:
    ok: bool
    error: str | None = None
    ttft_s: float | None = None
    e2e_s: float | None = None
    tpot_s: list[float] = field(default_factory=list)  # time per output token after the first (one per request)
    prompt_tokens: int = 0
    output_tokens: int = 0


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in [0, 100], numpy's default method); None for no values."""
    import numpy

    return float(numpy.percentile(values, q)) if values else None


def summarize_cell(results: list[RequestResult], concurrency: int, prompt_tokens: int, seconds: float,
                   slo_ttft_p95_ms: float | None = None) -> dict[str, Any]:
    ok = [r for r in results if r.ok]
    ttft = [r.ttft_s for r in ok if r.ttft_s is not None]
    e2e = [r.e2e_s for r in ok if r.e2e_s is not None]
    tpot = [t for r in ok for t in r.tpot_s]
    row = {
        "concurrency": concurrency, "prompt_tokens": prompt_tokens,
        "measured_prompt_tokens": (sum(r.prompt_tokens for r in ok) / len(ok)) if ok else None,
        "requests": len(results), "errors": len(results) - len(ok),
        "errors_by_type": dict(Counter((r.error or "").split(":")[0] for r in results if not r.ok)),
        "error_examples": sorted({r.error for r in results if r.error})[:3],
        "seconds": seconds,
        **{f"{name}_p{q}_s": percentile(values, q) for name, values in (("ttft", ttft), ("tpot", tpot), ("e2e", e2e))
           for q in (50, 95, 99)},
        # means: what a server's own histograms (fcray.bench.breakdown) can be set against
        "ttft_mean_s": sum(ttft) / len(ttft) if ttft else None, "e2e_mean_s": sum(e2e) / len(e2e) if e2e else None,
        "requests_per_s": len(ok) / seconds if seconds else 0.0,
        "output_tokens_per_s": sum(r.output_tokens for r in ok) / seconds if seconds else 0.0,
        "input_tokens_per_s": sum(r.prompt_tokens for r in ok) / seconds if seconds else 0.0,
    }
    if slo_ttft_p95_ms is not None:
        row["meets_slo"] = row["errors"] == 0 and row["ttft_p95_s"] is not None and \
            row["ttft_p95_s"] * 1000 <= slo_ttft_p95_ms
    return row


async def one_request(client: Any, model: str, prompt: str, max_tokens: int) -> RequestResult:
    start = time.perf_counter()
    first = last = None
    gaps: list[float] = []  # between streamed chunks (their count backs up a missing usage report)
    usage = finish = None
    try:
        stream = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}], tools=TOOLS, max_tokens=max_tokens,
            temperature=0,
            stream=True, stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
        async for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            if not chunk.choices:
                continue
            finish = chunk.choices[0].finish_reason or finish
            delta = chunk.choices[0].delta
            extra = delta.model_extra or {}  # a reasoning parser streams the thinking as `reasoning`: tokens too
            if delta.content or delta.tool_calls or extra.get("reasoning") or extra.get("reasoning_content"):
                now = time.perf_counter()
                if first is None:
                    first = now
                else:
                    gaps.append(now - last)
                last = now
    except Exception as error:  # one failed request is a data point (counted), not the end of the test
        # a stream cut after tokens arrived is a different fault from a request that never got an answer
        where = " after the first token" if first is not None else ""
        return RequestResult(False, f"{type(error).__name__}{where}: {str(error)[:200]}",
                             e2e_s=time.perf_counter() - start)
    end = time.perf_counter()
    if first is None:
        return RequestResult(False, "no token streamed", e2e_s=end - start)
    if finish is None:  # the stream ended without saying why: cut short, not a finished answer
        return RequestResult(False, "IncompleteStream: the stream ended without a finish_reason", e2e_s=end - start)
    output = usage.completion_tokens if usage else len(gaps) + 1
    # inter-token latency as time per output token after the first (TPOT): a server that streams several
    # tokens per chunk (Ray Serve LLM batches its stream) makes chunk gaps meaningless
    tpot = [(end - first) / (output - 1)] if output > 1 else []
    return RequestResult(True, None, first - start, end - start, tpot,
                         usage.prompt_tokens if usage else 0, output)


async def run_cell(client: Any, model: str, prompt: str, concurrency: int, config: BenchConfig
                   ) -> tuple[list[RequestResult], float]:
    results: list[RequestResult] = []
    start = time.perf_counter()
    deadline = start + config.max_seconds_per_cell
    issued = 0

    async def user() -> None:
        nonlocal issued
        while issued < config.requests_per_cell and time.perf_counter() < deadline:
            issued += 1
            results.append(await one_request(client, model, prompt, config.max_tokens))

    await asyncio.gather(*(user() for _ in range(concurrency)))
    return results, time.perf_counter() - start


def make_prompt(target_tokens: int, count_tokens) -> str:
    """A prompt of about ``target_tokens`` tokens under the served model's tokenizer (``count_tokens``,
    which returns None for a text too long for the server)."""
    words = max(1, target_tokens // 2)
    text = ""
    for _ in range(10):  # adjust the word count by the measured tokens-per-word ratio
        text = " ".join(FILLER[i % len(FILLER)] for i in range(words))
        measured = count_tokens(text)
        if measured is None:  # overshot the context: back off
            words = max(1, words // 2)
            continue
        if abs(measured - target_tokens) <= max(2, target_tokens // 50):
            break
        words = max(1, round(words * target_tokens / max(measured, 1)))
    return text


def endpoint_token_counter(url: str, model: str, api_key: str | None = None):
    """Counts a user message's tokens as the server does: the prompt tokens it reports for the message,
    less those of an empty one (the chat template's and the tools' own). Works with any OpenAI-compatible
    server."""
    import openai

    client = openai.OpenAI(base_url=url, api_key=_key(api_key), max_retries=2, timeout=120)

    def prompt_tokens(text: str) -> int | None:
        try:
            response = client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}],
                                                      tools=TOOLS, max_tokens=1, temperature=0)
        except openai.BadRequestError:
            return None  # longer than the context
        return response.usage.prompt_tokens

    template = prompt_tokens("")
    if template is None:
        raise RuntimeError(f"{url} rejects even an empty request for '{model}'")
    return lambda text: None if (n := prompt_tokens(text)) is None else n - template


def _key(api_key: str | None) -> str:
    """The key to send: ``api_key`` as given, else $OPENAI_API_KEY, else none."""
    from fcray.credentials import client_api_key

    return api_key or client_api_key(None, "api_key")


def model_context(url: str, model: str, api_key: str | None = None) -> int | None:
    """The served model's context length, when the server says: vLLM's model card has ``max_model_len``,
    Ray Serve LLM's ``metadata.max_request_context_length``."""
    from fcray.credentials import bearer
    from fcray.readiness import get_json

    code, body = get_json(f"{url}/models", timeout=10, headers=bearer(_key(api_key)))
    if code != 200 or not isinstance(body, dict):
        return None
    card = next((c for c in body.get("data", []) if c.get("id") == model), {})
    return card.get("max_model_len") or (card.get("metadata") or {}).get("max_request_context_length")


def write_csv(rows: list[dict[str, Any]], path: str | Path) -> None:
    columns = sorted({k for row in rows for k in row}, key=lambda k: (k not in CSV_FIRST, CSV_FIRST.index(k)
                                                                     if k in CSV_FIRST else 0, k))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()})


CSV_FIRST = ["prompt_tokens", "concurrency", "requests", "errors", "ttft_p50_s", "ttft_p95_s", "ttft_p99_s",
             "tpot_p50_s", "tpot_p95_s", "tpot_p99_s", "e2e_p50_s", "e2e_p95_s", "e2e_p99_s", "requests_per_s",
             "output_tokens_per_s", "input_tokens_per_s"]


def run_matrix(url: str, model: str, config: BenchConfig, out: str | Path | None = None, log=print,
               api_key: str | None = None, resources: ResourceSource | None = None,
               breakdown: Breakdown | None = None) -> list[dict[str, Any]]:
    """Every (prompt length, concurrency) cell against ``url``; rows written to ``out`` (JSON, and CSV beside
    it) as they come. A length that does not fit the model's context with ``max_tokens`` is skipped with a
    row saying so. ``resources`` (:mod:`fcray.bench.resources`): sampled during each cell, its figures
    added to the cell's row; ``breakdown`` (:mod:`fcray.bench.breakdown`): the server's own per-request
    means of the cell (``time_*_s``) added too."""
    import openai

    from fcray.bench.resources import CellSampler
    from fcray.progress import report as report_progress

    api_key = _key(api_key)  # resolved once, for the counter, the context query and the load
    counter = endpoint_token_counter(url, model, api_key)
    cells = len(config.prompt_lengths) * len(config.concurrency)
    context = model_context(url, model, api_key)
    rows: list[dict[str, Any]] = []
    done_cells = [0]

    def save() -> None:
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(json.dumps(rows, indent=2) + "\n")
            write_csv(rows, Path(out).with_suffix(".csv"))

    async def main() -> None:
        client = openai.AsyncOpenAI(base_url=url, api_key=api_key, max_retries=0, timeout=config.request_timeout_s)
        try:
            # warm-up (not measured): first requests pay for compilation and caches
            warm = make_prompt(min(config.prompt_lengths), counter)
            if breakdown is not None:
                await asyncio.to_thread(breakdown.begin)
            warmed = await asyncio.gather(*(one_request(client, model, warm, 8) for _ in range(config.warmup_requests)))
            sent = sum(r.ok for r in warmed)  # requests the engine has finished, for the breakdown's snapshots
            for length in config.prompt_lengths:
                if context is not None and length + config.max_tokens + 64 > context:
                    note = (f"skipped: {length} prompt + {config.max_tokens} output tokens (+ template) exceed "
                            f"the model's context of {context}")
                    rows.append({"prompt_tokens": length, "concurrency": None, "skipped": note})
                    log(f"[fcray bench] prompt {length:>5} tok: {note}")
                    save()
                    done_cells[0] += len(config.concurrency)
                    report_progress("load-test cells", done_cells[0], cells)
                    continue
                prompt = make_prompt(length, counter)
                for concurrency in config.concurrency:
                    sampler = CellSampler(resources, model) if resources is not None else None
                    before = await asyncio.to_thread(breakdown.settled, sent) if breakdown is not None else None
                    with sampler or contextlib.nullcontext():
                        results, seconds = await run_cell(client, model, prompt, concurrency, config)
                    row = summarize_cell(results, concurrency, length, seconds, config.slo_ttft_p95_ms)
                    if sampler is not None:
                        row.update(sampler.columns())
                    if breakdown is not None:
                        sent += row["requests"] - row["errors"]
                        row.update(breakdown.columns(before, await asyncio.to_thread(breakdown.settled, sent)))
                    rows.append(row)
                    log(f"[fcray bench] prompt {length:>5} tok, concurrency {concurrency:>3}: "
                        f"TTFT P50/P95/P99 {_ms(row['ttft_p50_s'])}/{_ms(row['ttft_p95_s'])}/{_ms(row['ttft_p99_s'])}, "
                        f"TPOT P50 {_ms(row['tpot_p50_s'])}, "
                        f"{row['output_tokens_per_s']:.0f} tok/s, {row['requests_per_s']:.2f} req/s, "
                        f"{row['errors']} errors{_resources_text(row)}")
                    save()
                    done_cells[0] += 1
                    report_progress("load-test cells", done_cells[0], cells)
        finally:
            await client.close()

    asyncio.run(main())
    return rows


def bench_into(folder: str | Path, url: str, model: str, config: BenchConfig, log=print,
               api_key: str | None = None, dashboard: str | None = None) -> list[dict[str, Any]]:
    """The matrix into ``folder``: results.json, results.csv and load_test.png (what `fcray report` plots).
    ``api_key``: the key to send (None: $OPENAI_API_KEY, else none). ``dashboard``: the Ray cluster fcray
    deployed the endpoint on, when it did (``bench.resource_metrics=auto`` reads its metrics agents)."""
    from fcray.bench.resources import resource_source
    from fcray.eval.report import plot_load_test

    resources, said = resource_source(config.resource_metrics, dashboard)
    log(f"[fcray bench] {said}")
    rows = run_matrix(url, model, config, Path(folder) / "results.json", log=log, api_key=api_key,
                      resources=resources)
    plot_load_test(rows, Path(folder) / "load_test.png")
    return rows


def _resources_text(row: dict[str, Any]) -> str:
    """The cell's resource figures for its log line ('' when none were read).

    >>> _resources_text({"cpu_util_pct": 97.4, "node_mem_used_gib": 11.52, "gpu_util_pct": None})
    '; CPU 97%, mem 11.5 GiB'
    """
    parts = [f"{label} {row[key]:.{digits}f}{unit}" for key, label, digits, unit in (
        ("gpu_util_pct", "GPU", 0, "%"), ("gpu_mem_used_gib", "GPU mem", 1, " GiB"), ("cpu_util_pct", "CPU", 0, "%"),
        ("node_mem_used_gib", "mem", 1, " GiB"), ("kv_cache_usage_pct", "KV cache", 0, "%"))
        if row.get(key) is not None]
    return f"; {', '.join(parts)}" if parts else ""


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"

