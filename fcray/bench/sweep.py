"""The Ray Tune sweep of vLLM's ``max_num_seqs`` x ``max_num_batched_tokens`` (x ``kv_cache_memory_bytes``
when given) under a TTFT SLO.

Each trial deploys its own copy of fcray's Serve app (its own app name and route prefix, so trials run in
parallel on one Serve instance), load-tests it with :mod:`fcray.bench.loadgen` at the sweep's concurrency
and prompt length, reports throughput, TTFT P95 and whether the SLO holds, and deletes the app. The
objective: the most output tokens/s among the settings that meet ``slo_ttft_p95_ms`` with no errors (an
SLO miss scores 0). The winner is written as a ``serve deploy`` config (the preset's app with the swept
settings replaced) and printed as ``--set`` overrides. A trial whose engine cannot start (e.g. a KV cache
too small for ``max_model_len``) is recorded as failed, with vLLM's reason, and the sweep goes on.
Then (``bench.sweep.overhead``) the same load runs at the chosen settings against fcray's full app and
against a bare vLLM server (:mod:`fcray.bench.overhead`): what Serve costs at the settings a user deploys.

Compared with vLLM's ``benchmarks/auto_tune`` (one server restarted per setting, serially): trials run
in parallel (``max_concurrent_trials``), the objective is SLO-aware, and the result is a deployable config.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from fcray.config import BenchConfig, FcrayConfig, SweepConfig


GRID = ("max_num_seqs", "max_num_batched_tokens", "kv_cache_memory_bytes")  # bench.sweep.<name> -> serve.engine.<name>


def grid_axes(space: SweepConfig) -> dict[str, list[int]]:
    """The swept engine settings and their values (an empty list is not swept: trials keep serve.engine's)."""
    return {name: getattr(space, name) for name in GRID if getattr(space, name)}


def with_engine_settings(config: FcrayConfig, settings: dict[str, Any]) -> FcrayConfig:
    """``config`` with some of the serve engine's settings replaced: what one trial runs, and what the
    winner recommends."""
    engine = replace(config.serve.engine, **settings)
    return replace(config, serve=replace(config.serve, engine=engine))


def trial_settings(trial: dict[str, Any]) -> dict[str, Any]:
    """The swept settings of a trial (a params dict or a summary row)."""
    return {name: trial[name] for name in GRID if name in trial}


def _trial(params: dict[str, Any]) -> dict[str, Any]:
    """One Tune trial (a function trainable): deploy, load-test, report, delete."""
    from ray import serve, tune
    from ray.serve.llm import build_openai_app

    from fcray.bench.apps import wait_running
    from fcray.bench.loadgen import run_matrix
    from fcray.serve.app import resolve_model_source
    from fcray.serve.config import llm_config

    config: FcrayConfig = params["config"]
    trial_config = with_engine_settings(config, trial_settings(params))
    name = f"sweep-{tune.get_context().get_trial_id()}"
    llm = llm_config(trial_config, resolve_model_source(params["model_source"]))
    llm["model_loading_config"]["model_id"] = name
    # A trial's settings are fixed: an engine that fails to start fails again, so one start and the trial
    # is marked failed (Serve's default retries a replica 3 times, a few minutes of engine starts on CPU).
    llm["deployment_config"]["max_constructor_retry_count"] = 1
    app = build_openai_app({"llm_configs": [llm], "ingress_deployment_config": {
        "ray_actor_options": {"num_cpus": 0.1}}})  # the router is light; engines get the CPUs
    try:
        try:
            serve.run(app, name=name, route_prefix=f"/{name}", blocking=False)
            wait_running(name)
        except RuntimeError as error:  # the app did not come up: say why, from the engine's own log
            reason = engine_start_failure(name)
            raise RuntimeError(f"{reason}\n{error}" if reason else str(error)) from None  # the reason first
        url = f"http://127.0.0.1:{params['http_port']}/{name}/v1"
        bench = BenchConfig(concurrency=[params["concurrency"]], prompt_lengths=[params["prompt_tokens"]],
                            requests_per_cell=params["requests"], max_seconds_per_cell=params["max_seconds"],
                            warmup_requests=1, max_tokens=params["max_tokens"],
                            slo_ttft_p95_ms=params["slo_ttft_p95_ms"])
        (row,) = run_matrix(url, name, bench, log=lambda *_: None)
        if row.get("skipped"):
            raise ValueError(row["skipped"])
    finally:
        serve.delete(name)
    score = row["output_tokens_per_s"] if row["meets_slo"] else 0.0
    metrics = {"score": score, **{k: row[k] for k in ("output_tokens_per_s", "ttft_p95_s", "tpot_p50_s", "e2e_p95_s",
                                                     "requests_per_s", "errors", "meets_slo")},
               "errors_by_type": json.dumps(row["errors_by_type"])}  # a string: Tune flattens dicts
    tune.report(metrics)
    return metrics


def engine_start_failure(app_name: str, wait_s: float = 30.0) -> str | None:
    """The error lines of the app's failed LLM replica log (vLLM's engine core runs in a child process of
    the replica: its reason, e.g. a KV cache too small for ``max_model_len``, reaches the replica only as
    "Engine core initialization failed. See root cause above"). Asked again for up to ``wait_s``: Serve can
    mark the app failed before the state API answers or serves the replica's last lines (seen under load in
    CI). None without Ray's state API (a cluster started without the dashboard) or when no replica logged an
    error in that time."""
    from fcray.readiness import wait_until

    try:
        return wait_until(lambda: _replica_errors(app_name), f"the failed replica log of {app_name}", wait_s,
                          interval_s=2)
    except TimeoutError:  # the caller keeps Serve's message
        return None


def _replica_errors(app_name: str) -> str | None:
    """One look at the app's LLM replica logs through Ray's state API; None if it has no error line yet."""
    import ray
    from ray.util.state import get_log, list_actors

    from fcray.serve.config import SERVER_CLS

    server = SERVER_CLS.rpartition(":")[2]  # the LLM deployment's name is its class's
    # This cluster's address, never None: without one the state API asks whichever cluster `ray start` last
    # recorded on this machine (another head here: no such replica, and the reason was lost in CI's full run)
    try:
        address = ray.get_runtime_context().gcs_address
        replicas = list_actors(address=address, raise_on_missing_output=False, timeout=10,
                               filters=[("class_name", "=", f"ServeReplica:{app_name}:{server}:{app_name}")])
        lines: list[str] = []
        for replica in replicas:
            for suffix in ("err", "out"):
                # Raw bytes, joined, then decoded: the log streams in chunks that can end inside a line or a
                # multi-byte character (vLLM's progress bars), so decoding or splitting a chunk alone can
                # lose the error line (or, with strict decoding, the whole log)
                raw = b"".join(get_log(address=address, actor_id=replica.actor_id, suffix=suffix, tail=1000,
                                       timeout=10, encoding=None))
                lines += raw.decode("utf-8", errors="replace").splitlines()
    except Exception:  # no dashboard (state API) yet, or the log is gone
        return None
    errors = [m.group(1) for line in lines
              if (m := re.search(r"\b((?:[\w.]+\.)?\w*(?:Error|Exception): .+)$", line))]
    return ("engine: " + " | ".join(dict.fromkeys(errors))) if errors else None


def trial_error(error: BaseException) -> str:
    """What a failed trial's row says: the exception lines of Tune's traceback (the trial's own error and,
    for an engine that did not start, the replica's), not the frames, cut to 500 characters."""
    text = str(error)
    lines = [re.sub(r"^\w*Error: (?=engine: )", "", line.strip()) for line in text.splitlines()
             if re.match(r"\s*(?:engine: )?(?:[\w.]+\.)?\w*(?:Error|Exception|Failed)\b.*?: ", line)]
    return (" | ".join(dict.fromkeys(lines)) or text)[:500]


def pareto_front(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trials no other trial beats on both TTFT P95 (lower) and output tokens/s (higher)."""
    done = [t for t in trials if "error" not in t and t.get("ttft_p95_s") is not None]

    def dominated(t: dict[str, Any]) -> bool:
        return any(o["ttft_p95_s"] <= t["ttft_p95_s"] and o["output_tokens_per_s"] >= t["output_tokens_per_s"]
                   and (o["ttft_p95_s"], o["output_tokens_per_s"]) != (t["ttft_p95_s"], t["output_tokens_per_s"])
                   for o in done)

    return sorted((t for t in done if not dominated(t)), key=lambda t: t["ttft_p95_s"])


def _kinds(errors_by_type: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(errors_by_type.items()))


def _settings_text(trial: dict[str, Any], sep: str = ", ") -> str:
    return sep.join(f"{name}={value}" for name, value in trial_settings(trial).items())


def sweep_report(summary: dict[str, Any]) -> str:
    """The sweep's Markdown report: every trial, the Pareto front, the choice and why."""
    slo = summary["slo_ttft_p95_ms"]
    axes = [name for name in GRID if any(name in t for t in summary["trials"])]
    lines = ["# fcray serve sweep", "",
             f"Load: concurrency {summary['concurrency']}, prompt {summary['prompt_tokens']} tokens. Objective: the "
             f"most output tokens/s with TTFT P95 <= {slo:.0f} ms and no errors.", "",
             "| " + " | ".join(axes) + " | output tok/s | TTFT P95 (ms) | E2E P95 (s) | errors | SLO |",
             "|" + "---|" * (len(axes) + 5)]
    for t in summary["trials"]:
        cells = " | ".join(str(t.get(name, "")) for name in axes)
        if "error" in t:
            lines.append(f"| {cells} | failed: {t['error'][:160]} | | | | |")
            continue
        ttft = "-" if t["ttft_p95_s"] is None else f"{t['ttft_p95_s'] * 1000:.0f}"  # None: no request succeeded
        e2e = "-" if t["e2e_p95_s"] is None else f"{t['e2e_p95_s']:.2f}"
        errors = f"{t['errors']}" + (f" ({_kinds(t['errors_by_type'])})" if t.get("errors_by_type") else "")
        lines.append(f"| {cells} | {t['output_tokens_per_s']:.1f} | "
                     f"{ttft} | {e2e} | {errors} | {'meets' if t['meets_slo'] else 'misses'} |")
    front = pareto_front(summary["trials"])
    lines += ["", "Pareto front (TTFT P95 vs tokens/s): " + "; ".join(
        f"({_settings_text(t)})" for t in front), ""]
    best = summary["best"]
    if best is None:
        lines.append("No setting met the SLO: nothing recommended (raise the SLO, lower the load, add replicas).")
    else:
        lines.append(f"Chosen: {_settings_text(best)} — the highest throughput ({best['output_tokens_per_s']:.1f} "
                     f"output tok/s) among the settings whose TTFT P95 ({best['ttft_p95_s'] * 1000:.0f} ms) meets "
                     f"the {slo:.0f} ms SLO. Deploy: `serve deploy recommended_serve_config.yaml`.")
    lines += overhead_report(summary.get("overhead"), summary)
    failed = sum("error" in t for t in summary["trials"])
    if failed:
        lines.append(f"\n{failed} of {len(summary['trials'])} trials failed (their error is in the table and in "
                     f"sweep.json); the choice is among the others.")
    return "\n".join(lines) + "\n"


def overhead_report(overhead: dict[str, Any] | None, summary: dict[str, Any]) -> list[str]:
    """The report's lines on what Serve costs at the chosen settings (none when it was not measured)."""
    if overhead is None:
        return []
    head = ["", "## What Serve costs at the chosen settings", ""]
    if "error" in overhead:
        return head + [f"Not measured: {overhead['error'][:300]}"]
    from fcray.bench.overhead import ms

    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    served, bare, r = overhead["serve"], overhead["bare_vllm"], overhead["ratios"]
    lines = head + [f"fcray's Serve app (ingress, router, LLMServer) against a bare vLLM server with the same engine "
                    f"settings, the same load (concurrency {summary['concurrency']}, prompt {summary['prompt_tokens']} "
                    f"tokens), one after the other.", "",
                    "| | TTFT P50 (ms) | TTFT P95 (ms) | output tok/s |", "|---|---|---|---|"]
    for name, row in (("fcray Serve app", served), ("bare vLLM", bare)):
        lines.append(f"| {name} | {ms(row['ttft_p50_s'])} | {ms(row['ttft_p95_s'])} | {row['output_tokens_per_s']:.1f} |")
    lines.append(f"| Serve / bare | {ratio(r['ttft_p50'])} | {ratio(r['ttft_p95'])} | {ratio(r['tokens_per_s'])} |")
    for name, split in (("Serve", overhead["ttft_split"]["serve"]), ("bare vLLM", overhead["ttft_split"]["bare_vllm"])):
        parts = ", ".join(f"{k.replace('_', ' ')} {ms(v)}" for k, v in split.items())
        lines.append(f"\nWhere TTFT goes, {name} (means, ms): {parts}.")
    return lines


def trial_progress(total: int):
    """A Tune callback reporting the grid's finished trials (completed or failed) as fcray progress ("sweep
    trials"); built here so that importing this module does not import Tune."""
    from ray.tune import Callback

    from fcray.progress import report as report_progress

    class TrialProgress(Callback):
        def __init__(self) -> None:
            self.done = 0

        def on_trial_complete(self, iteration, trials, trial, **info):
            self.done += 1
            report_progress("sweep trials", self.done, total)

        def on_trial_error(self, iteration, trials, trial, **info):
            self.on_trial_complete(iteration, trials, trial, **info)

    return TrialProgress()


def run_sweep(config: FcrayConfig, model_source: str, out: str | Path, storage_path: str | None = None
              ) -> dict[str, Any]:
    """Sweep on the connected cluster (Serve started on ``config.serve.port``); writes ``sweep.json`` and
    ``recommended_serve_config.yaml`` under ``out`` and returns the summary."""
    from ray import serve, tune

    from fcray.serve.config import serve_deploy_config

    space = config.bench.sweep
    serve.start(http_options={"host": "127.0.0.1", "port": config.serve.port})
    params = {
        "config": config, "model_source": model_source, "http_port": config.serve.port,
        "concurrency": space.concurrency, "prompt_tokens": space.prompt_tokens, "requests": space.requests,
        "max_seconds": config.bench.max_seconds_per_cell, "max_tokens": config.bench.max_tokens,
        "slo_ttft_p95_ms": config.bench.slo_ttft_p95_ms,
        **{name: tune.grid_search(values) for name, values in grid_axes(space).items()},
    }
    trials_total = math.prod(len(values) for values in grid_axes(space).values())
    tuner = tune.Tuner(
        # a trial only drives load (Tune needs a non-empty request); its Serve app holds the real resources
        tune.with_resources(_trial, {"cpu": 0.01}),
        param_space=params,
        tune_config=tune.TuneConfig(metric="score", mode="max", max_concurrent_trials=space.max_concurrent_trials),
        run_config=tune.RunConfig(name="fcray-serve-sweep", storage_path=storage_path, verbose=0,
                                  callbacks=[trial_progress(trials_total)]),
    )
    grid = tuner.fit()
    trials = []
    for result in grid:
        if result.error is not None:
            trials.append({**trial_settings(result.config), "error": trial_error(result.error)})
            continue
        trials.append({**trial_settings(result.config),
                       **{k: result.metrics[k] for k in ("score", "output_tokens_per_s", "ttft_p95_s", "tpot_p50_s",
                                                         "e2e_p95_s", "requests_per_s", "errors", "meets_slo")},
                       "errors_by_type": json.loads(result.metrics.get("errors_by_type") or "{}")})
    passing = [t for t in trials if t.get("meets_slo")]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"slo_ttft_p95_ms": config.bench.slo_ttft_p95_ms, "concurrency": space.concurrency,
                               "prompt_tokens": space.prompt_tokens, "trials": trials, "best": None}
    if passing:
        best = max(passing, key=lambda t: t["score"])
        summary["best"] = best
        tuned = with_engine_settings(config, trial_settings(best))
        header = (f"# Recommended by the fcray serve sweep: {_settings_text(best)} ({best['output_tokens_per_s']:.0f} "
                  f"output tok/s at concurrency {space.concurrency}, TTFT P95 {best['ttft_p95_s'] * 1000:.0f} ms "
                  f"<= SLO {config.bench.slo_ttft_p95_ms:.0f} ms).\n# Deploy: serve deploy <this file>\n")
        (out / "recommended_serve_config.yaml").write_text(
            header + yaml.safe_dump(serve_deploy_config(tuned, model_source), sort_keys=False))
        summary["overrides"] = [f"serve.engine.{name}={value}" for name, value in trial_settings(best).items()]
        if space.overhead:
            summary["overhead"] = overhead_at(tuned, model_source)
    summary["pareto_front"] = pareto_front(trials)
    (out / "sweep.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "sweep.md").write_text(sweep_report(summary))
    return summary


def overhead_at(config: FcrayConfig, model_source: str) -> dict[str, Any]:
    """What Serve costs at ``config``'s (the chosen) settings, under the sweep's load
    (:func:`fcray.bench.overhead.measure_on_cluster`); a failure is recorded, not raised: the sweep's choice
    stands without it."""
    import ray

    from fcray.bench.overhead import measure_on_cluster
    from fcray.credentials import client_api_key

    space = config.bench.sweep
    bench = BenchConfig(concurrency=[space.concurrency], prompt_lengths=[space.prompt_tokens],
                        requests_per_cell=space.requests, max_seconds_per_cell=config.bench.max_seconds_per_cell,
                        warmup_requests=2, max_tokens=config.bench.max_tokens,
                        slo_ttft_p95_ms=config.bench.slo_ttft_p95_ms)
    # the dashboard of the cluster this driver is connected to (a submitted job's RAY_ADDRESS is the GCS)
    dashboard = ray._private.worker.get_dashboard_url()
    if not dashboard:
        return {"error": "the cluster runs no dashboard, whose metrics discovery the breakdown reads (start the "
                         "head with --include-dashboard=true, or set bench.sweep.overhead=false)"}
    try:
        return measure_on_cluster(config, model_source, bench, f"http://{dashboard}",
                                  api_key=client_api_key(config.serve.api_key, "serve.api_key"))
    except Exception as error:  # noqa: BLE001 - reported in sweep.json and sweep.md
        return {"error": trial_error(error)}


def chosen_overrides(workdir_bench: Path) -> list[str]:
    """The ``--set`` overrides of the settings the last sweep under ``<workdir>/bench`` chose (``fcray serve
    --from-sweep``); an error that says what to run when there is no sweep or it chose nothing."""
    path = Path(workdir_bench) / "sweep" / "sweep.json"
    if not path.exists():
        raise FileNotFoundError(f"--from-sweep reads {path}, which does not exist: run the sweep first "
                                f"(python -m tune.sweep --preset <preset> --set workdir=<workdir>)")
    summary = json.loads(path.read_text())
    if not summary.get("overrides"):
        raise FileNotFoundError(f"{path}: no trial met the TTFT SLO ({summary.get('slo_ttft_p95_ms')} ms), so the "
                                f"sweep chose no settings (see sweep.md beside it)")
    return list(summary["overrides"])

