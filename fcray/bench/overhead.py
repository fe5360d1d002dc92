"""What Ray Serve costs at one engine setting: the same load against fcray's Serve app and against a bare
vLLM OpenAI server with the same engine settings, one after the other (never together: they would share
the cores), as ratios and as where each request's time goes (:mod:`fcray.bench.breakdown`).

The sweep measures it for the setting it chooses (``bench.sweep.overhead``), so a user sees the cost of
Serve at the settings they deploy; ``tests/benchmarks/bench_serve_overhead.py`` measures it for several
serving variants on their own heads.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fcray.config import FcrayConfig

OVERHEAD_APP = "sweep-overhead"  # fcray's app under its own name, model id and route: a user's app stays up


def ratios(serve_row: dict[str, Any], vllm_row: dict[str, Any]) -> dict[str, float | None]:
    """Serve over bare vLLM for one cell: TTFT P50 and P95 (above 1 = Serve slower), output tokens/s
    (below 1 = Serve delivers fewer); None where a side has no figure (no request succeeded).

    >>> ratios({"ttft_p50_s": 0.08, "ttft_p95_s": 0.1, "output_tokens_per_s": 90.0},
    ...        {"ttft_p50_s": 0.04, "ttft_p95_s": 0.05, "output_tokens_per_s": 100.0})
    {'ttft_p50': 2.0, 'ttft_p95': 2.0, 'tokens_per_s': 0.9}
    """
    def over(key: str) -> float | None:
        a, b = serve_row.get(key), vllm_row.get(key)
        return round(a / b, 4) if a is not None and b else None

    return {"ttft_p50": over("ttft_p50_s"), "ttft_p95": over("ttft_p95_s"), "tokens_per_s": over("output_tokens_per_s")}


def split_ttft(row: dict[str, Any]) -> dict[str, float | None]:
    """A cell's mean time to first token, split at the boundaries measured (seconds; None where a server
    has no such boundary). Behind Serve: outside the ingress (client -> HTTP proxy -> ingress and the first
    chunk back), fcray's checks, the hop to LLMServer and back (router, handle, streaming between
    replicas), LLMServer before the engine (vLLM's OpenAI layer, stream batching) and the engine's TTFT.
    Bare vLLM: the engine's TTFT and everything else (its HTTP server and OpenAI layer).

    >>> split_ttft({"ttft_mean_s": 0.05, "time_engine_ttft_s": 0.03})
    {'engine': 0.03, 'server_outside_engine': 0.020000000000000004}
    """
    get = row.get
    client, engine = get("ttft_mean_s"), get("time_engine_ttft_s")
    if get("time_ingress_first_s") is None:  # bare vLLM
        return {"engine": engine, "server_outside_engine": client - engine if client and engine else None}
    checks, ingress, server = get("time_ingress_checks_s") or 0.0, get("time_ingress_first_s"), get("time_server_first_s")
    return {"engine": engine, "server_outside_engine": server - engine if server and engine else None,
            "ingress_to_server": ingress - server if ingress and server else None, "ingress_checks": checks,
            "outside_ingress": client - ingress - checks if client and ingress else None}


def ms(value: float | None) -> str:
    """Seconds as whole milliseconds, "-" for none."""
    return "-" if value is None else f"{value * 1000:.0f}"


def breakdown_lines(name: str, row: dict[str, Any]) -> list[str]:
    """One cell's split of TTFT and of the whole request, means in ms."""
    parts = ", ".join(f"{k} {ms(v)}" for k, v in split_ttft(row).items())
    whole = [f"client E2E {ms(row.get('e2e_mean_s'))}", f"engine E2E {ms(row.get('time_engine_e2e_s'))}"]
    whole += [f"{label} {ms(row.get(key))}" for label, key in (("server last", "time_server_last_s"),
                                                                 ("ingress last", "time_ingress_last_s"))
              if row.get(key) is not None]
    return [f"  {name:>12} c={row['concurrency']}: TTFT {ms(row.get('ttft_mean_s'))} = {parts}",
            f"  {'':>12}      {', '.join(whole)}"]


# engine settings ServerSpec sets itself; every other one of engine_kwargs goes as a flag
_SPEC_KWARGS = ("max_model_len", "dtype", "kv_cache_memory_bytes", "enforce_eager", "tool_call_parser",
                "enable_auto_tool_choice")


def bare_server_spec(config: FcrayConfig, model: str, host: str = "127.0.0.1"):
    """The bare vLLM server of the Serve app's engine: the same :func:`fcray.serve.config.engine_kwargs`
    (scheduler limits, tool and reasoning parsers, structured outputs, memory), as ``vllm serve`` flags."""
    from fcray.eval.vllm_server import ServerSpec
    from fcray.serve.config import cli_args, engine_kwargs

    kwargs = engine_kwargs(config)
    return ServerSpec(model=model, served_name=config.serve.model_id, max_model_len=kwargs["max_model_len"],
                      dtype=kwargs["dtype"], kv_cache_memory_bytes=kwargs.get("kv_cache_memory_bytes"),
                      enforce_eager=kwargs["enforce_eager"], tool_call_parser=kwargs["tool_call_parser"], host=host,
                      extra_args=cli_args({k: v for k, v in kwargs.items() if k not in _SPEC_KWARGS}))


class BareVllm:
    """A Ray actor holding a bare vLLM server on a node with the engine's resources (the driver of a
    submitted job may run on a head without them); :meth:`url` once it answers."""

    def __init__(self, spec) -> None:
        import ray

        from fcray.eval.vllm_server import vllm_server
        from fcray.serve.app import resolve_model_source

        spec.model = resolve_model_source(spec.model)  # fcray:tiny is a folder on this node
        spec.host = ray.util.get_node_ip_address()  # reachable from the driver, wherever it runs
        self._stack = contextlib.ExitStack()
        self._url = self._stack.enter_context(vllm_server(spec))

    def url(self) -> str:
        return self._url

    def stop(self) -> None:
        self._stack.close()


def measure_on_cluster(config: FcrayConfig, model_source: str, bench, dashboard: str,
                       api_key: str | None = None) -> dict[str, Any]:
    """Load ``bench`` (one concurrency, one prompt length) against fcray's Serve app deployed with
    ``config`` on the connected cluster (as :data:`OVERHEAD_APP`, deleted afterwards), then against a bare
    vLLM server with the same engine settings in a Ray actor. Returns both rows (with their breakdowns),
    the ratios and the TTFT split of each."""
    import ray
    from ray import serve

    from fcray.bench.breakdown import Breakdown, http_texts
    from fcray.bench.loadgen import run_matrix
    from fcray.bench.resources import ray_metrics_texts
    from fcray.bench.apps import wait_running
    from fcray.serve.app import build_app
    from fcray.serve.config import ingress_cls_config, llm_config

    quiet = lambda *_: None  # noqa: E731 - the sweep prints its own summary
    llm = llm_config(config, model_source)
    llm["model_loading_config"]["model_id"] = OVERHEAD_APP  # its own engine series in Ray's metrics
    try:
        serve.run(build_app({"llm_configs": [llm], "ingress_cls_config": ingress_cls_config(config)}),
                  name=OVERHEAD_APP, route_prefix=f"/{OVERHEAD_APP}", blocking=False)
        wait_running(OVERHEAD_APP)
        url = f"http://127.0.0.1:{config.serve.port}/{OVERHEAD_APP}/v1"
        split = Breakdown(ray_metrics_texts(dashboard), "ray_vllm_", OVERHEAD_APP, application=OVERHEAD_APP)
        (served,) = run_matrix(url, OVERHEAD_APP, bench, log=quiet, api_key=api_key, breakdown=split)
    finally:
        serve.delete(OVERHEAD_APP)

    engine = config.serve.engine
    actor = ray.remote(num_cpus=engine.cpus, num_gpus=engine.gpus)(BareVllm).remote(
        bare_server_spec(config, model_source))
    try:
        url = ray.get(actor.url.remote())
        split = Breakdown(http_texts(url.removesuffix("/v1") + "/metrics"), "vllm:", config.serve.model_id)
        (bare,) = run_matrix(url, config.serve.model_id, bench, log=quiet, breakdown=split)
    finally:
        # the server runs in its own session: stop it through the actor, or killing the actor orphans it
        with contextlib.suppress(Exception):
            ray.get(actor.stop.remote(), timeout=120)
        ray.kill(actor)
    return {"serve": served, "bare_vllm": bare, "ratios": ratios(served, bare),
            "ttft_split": {"serve": split_ttft(served), "bare_vllm": split_ttft(bare)}}
