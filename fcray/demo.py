"""`fcray demo`: the main job — the whole pipeline on one preset, as far as its stages exist.

data -> model -> SFT -> GRPO -> serve (Ray Serve LLM, scored through its OpenAI API, load-tested) -> edge
(C as GGUF Q8_0 / Q4_K_M on llama.cpp, scored and measured) -> eval (+ BFCL) and the report; the jobs are submitted with `ray job submit` (python -m jobs.sft / jobs.grpo / jobs.eval) to a Ray
cluster: a local head the demo starts and stops. Each stage writes under ``<workdir>``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from fcray.config import FcrayConfig

REPO_ROOT = Path(__file__).resolve().parents[1]


def serve_and_score(config: FcrayConfig, head, model: Path, say=print) -> dict:
    """Deploy ``model`` with fcray's Serve app on ``head``, score the served model on the validation set
    through its OpenAI API (eval's endpoint backend, into ``<workdir>/eval/served``), load-test it over
    ``bench.*`` (``<workdir>/bench``), then delete the app. Returns the served model's eval results."""
    import shutil
    from dataclasses import replace

    from fcray.bench.loadgen import bench_into
    from fcray.cluster import use_head
    from fcray.credentials import client_api_key
    from fcray.data.pipeline import validation_examples
    from fcray.eval.run import run_eval
    from fcray.eval.stages import eval_dir
    from fcray.serve.launch import deploy, shutdown
    from fcray.workdir import bench_dir

    use_head(head)  # Serve's REST client authenticates like `ray job submit`
    deployment = deploy(config, head.address, model=str(model))
    say(f"      '{deployment.model_id}' is up: OpenAI API at {deployment.url}")
    out = eval_dir(config) / "served"
    shutil.rmtree(out, ignore_errors=True)  # a served name says nothing of which weights: always score anew
    try:
        key = config.serve.api_key  # where the served app's key is: both clients read it from there
        results = run_eval(deployment.model_id, validation_examples(config.workdir),
                           replace(config.eval, backend="endpoint", endpoint=deployment.url, api_key=key), out,
                           decoding=config.decoding)
        bench_into(bench_dir(config), deployment.url, deployment.model_id, config.bench,
                   api_key=client_api_key(key, "serve.api_key"), dashboard=head.address)
        return results
    finally:
        shutdown(head.address)


def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in text.splitlines())


def _data_digest(files) -> str:
    """The data stage in a few lines (the full summary is in the stage's log and ``summary.json``)."""
    summary = files.summary
    splits = summary["splits"]
    categories = sorted({c for s in splits.values() for c in s["categories"]})
    counts = ", ".join(f"{c} {splits['train']['categories'].get(c, 0)}/{splits['validation']['categories'].get(c, 0)}"
                       for c in categories)
    return (f"{splits['train']['examples']} train / {splits['validation']['examples']} validation examples "
            f"({summary['holdout_tool_examples']} validation examples use held-out tools) in {files.out_dir}\n"
            f"by category (train/validation): {counts}")


def _edge_digest(edge: dict) -> str:
    """One line per GGUF file: size, exact match, first-token latency, decode speed."""
    from fcray.eval.edge import gguf_label

    lines = []
    for kind, f in edge["files"].items():
        ttft = (f.get("ttft_ms") or {}).get("p50")
        exact = "-" if f["exact_match"] is None else f"{f['exact_match']:.3f}"
        lines.append(f"{gguf_label(kind)}: {f['file_bytes'] / 2**20:.1f} MiB, exact match {exact}, TTFT P50 "
                     f"{'-' if ttft is None else f'{ttft:.0f}'} ms, {f['generation_tokens_per_s'] or '-'} tokens/s "
                     f"generated ({edge['threads']} thread(s))")
    return "\n".join(lines)


def _machine() -> str:
    """``"Linux x86_64, AMD EPYC ..., 2 CPUs, 24 GiB"``: what a result was measured on."""
    import os
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs, {memory:.0f} GiB"


def _commit() -> str | None:
    import subprocess

    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("+dirty" if dirty else "")) or None


def write_results(workdir: Path, command: str, stage_seconds: dict[str, float], console_lines: int) -> Path:
    """``<workdir>/results.json``: every metric of A, B, C (and served C), the paired deltas B-A and C-B as
    ``[low, mean, high]``, the command, commit, date, machine and stage times — from the report's JSON."""
    import datetime
    import json

    report = json.loads((workdir / "report" / "report.json").read_text())
    by_label = {"base (A)": "A", "sft (B)": "B", "grpo (C)": "C", "served C (Ray Serve)": "served C",
                **{label: label[:-1].replace("(", "") for label in report["results"] if label.startswith("C (GGUF ")}}
    models = {short: {k: v["mean"] for k, v in report["results"][label]["metrics"].items() if v is not None}
              for label, short in by_label.items() if label in report["results"]}
    deltas = {}
    for key, diffs in report["differences"].items():
        later, _, earlier = key.partition(" - ")
        if later in by_label and earlier in by_label:
            deltas[f"{by_label[later]}-{by_label[earlier]}"] = {
                k: [d["low"], d["mean"], d["high"]] for k, d in diffs.items()}
    results = {"models": models, "deltas": deltas,
               "n_examples": report["results"]["grpo (C)"]["examples"], "command": command, "commit": _commit(),
               "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": _machine(), "stage_seconds": stage_seconds,
               "total_seconds": sum(stage_seconds.values()), "console_lines": console_lines}
    path = workdir / "results.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def _headline(results: dict[str, dict]) -> str:
    """``held-out: parse_rate 0.000 → 0.994 | ...`` for a few metrics across the models given, in order."""
    cells = []
    for key in ("parse_rate", "name_accuracy", "exact_match", "mean_reward"):
        values = [r["metrics"].get(key) for r in results.values()]
        cells.append(f"{key} " + " → ".join("-" if v is None else f"{v['mean']:.3f}" for v in values))
    return f"      held-out ({' → '.join(results)}): " + " | ".join(cells)


def run_demo(config: FcrayConfig, config_file: str | None = None, overrides: list[str] | tuple[str, ...] = (),
             bfcl: bool = True, verbose: bool = False) -> int:
    """The main job. Prints one line per stage start and end, progress and the key figures; every stage's
    full output goes to ``<workdir>/logs/`` (``verbose``: to the console too)."""
    from fcray.console import JobFailed

    try:
        return _run_demo(config, config_file, overrides, bfcl, verbose)
    except JobFailed as failure:
        print(f"fcray demo: {failure}", file=sys.stderr)
        return 1


def _run_demo(config: FcrayConfig, config_file: str | None, overrides, bfcl: bool, verbose: bool) -> int:
    from transformers import AutoTokenizer

    from fcray.cluster import ray_head
    from fcray.config import config_to_dict
    from fcray.console import Console, format_seconds
    from fcray.data.export import render_text
    from fcray.data.io import load_examples
    from fcray.data.pipeline import build_dataset, format_summary
    from fcray.eval.compare import format_comparison
    from fcray.eval.edge import score_gguf
    from fcray.eval.run import load_results
    from fcray.eval.stages import eval_dir, label
    from fcray.grpo.train import cpus_needed
    from fcray.model.tiny import resolve_model_path
    from fcray.workdir import run_dir as stage_run_dir

    workdir = Path(config.workdir).resolve()
    console = Console(workdir, 7, verbose=verbose, settings={"config": config_to_dict(config), "bfcl": bfcl})
    say = console.say
    expected = console.expected_total()
    say(f"fcray demo: preset '{config.preset}', outputs in {workdir}, stage logs in {console.log_dir}"
        + (f"; the same run took {format_seconds(expected)} last time on this machine" if expected else ""))

    with console.stage(1, "data", f"canonical examples ({config.data.source})") as stage:
        with stage.quiet():
            files = build_dataset(config.data, workdir / "data")
            print(format_summary(files))
        say(_indent(_data_digest(files)))

    with console.stage(2, "model", f"base model A ({config.model.name_or_path})") as stage:
        with stage.quiet():
            model_path = resolve_model_path(config.model.name_or_path, config.model.tiny)
            tokenizer = AutoTokenizer.from_pretrained(model_path)
        example = next(e for e in load_examples(files.validation) if e["category"] == "parallel")
        text = render_text(example, tokenizer, config.model.enable_thinking)
        say(f"      model: {model_path}")
        say(f"      one validation example ({example['id']}, {len(tokenizer(text)['input_ids'])} tokens), "
            "as the model sees it:")
        # The template's prose mentions "<tools></tools>" first; the schemas sit in the "<tools>\n…\n</tools>" block.
        start_tools, end_tools = text.index("<tools>\n") + len("<tools>\n"), text.index("\n</tools>")
        names = ", ".join(t["function"]["name"] for t in example["tools"])
        say(_indent(text[:start_tools] + f"[{len(example['tools'])} tool schemas: {names}]" + text[end_tools:],
                    "      | "))

    common = ["--preset", config.preset, *(["--config", str(Path(config_file).resolve())] if config_file else []),
              *[a for o in overrides for a in ("--set", o)], "--set", f"workdir={workdir}"]
    num_cpus = max(2, config.sft.ray_train.num_workers * config.sft.ray_train.cpus_per_worker, cpus_needed(config.grpo))
    with ray_head(num_cpus=num_cpus) as head:
        say(f"Ray cluster: {head.address} (stages run as Ray jobs, submitted as `ray job submit` does)")
        with console.stage(3, "sft", "SFT of A on Ray Train (python -m jobs.sft), then A and B scored") as stage:
            console.job(stage, head, [sys.executable, "-m", "jobs.sft", *common], REPO_ROOT)
            run_dir = stage_run_dir(config, "sft")
            say(f"      SFT model B: {run_dir / 'model'} (loss curve: {run_dir / 'loss.png'})")
            say(_headline({label(s): load_results(eval_dir(config) / s) for s in ("base", "sft")}))

        with console.stage(4, "grpo", "GRPO of B on Ray Train with vLLM rollouts (python -m jobs.grpo)") as stage:
            console.job(stage, head, [sys.executable, "-m", "jobs.grpo", *common], REPO_ROOT)
            grpo_dir = stage_run_dir(config, "grpo")
            say(f"      GRPO model C: {grpo_dir / 'model'} (curves: {grpo_dir / 'curves.png'})")

        with console.stage(5, "serve", "C on Ray Serve LLM, scored through its OpenAI API, load-tested") as stage:
            with stage.quiet():
                served = serve_and_score(config, head, grpo_dir / "model", say=say)

        with console.stage(6, "edge", "C as GGUF (" + ", ".join(k.upper() for k in config.edge.quantizations)
                           + ") on llama.cpp, scored and measured") as stage:
            with stage.quiet():
                edge = score_gguf(config, grpo_dir / "model")
            say(_indent(_edge_digest(edge)))

        with console.stage(7, "eval", "A, B, C" + (" + BFCL" if bfcl else "") + " and the report (python -m jobs.eval)") as stage:
            console.job(stage, head, [sys.executable, "-m", "jobs.eval", *common, *(["--bfcl"] if bfcl else [])],
                        REPO_ROOT)
    console.save_timings()
    results = {s: load_results(eval_dir(config) / s) for s in ("base", "sft", "grpo")}
    say(f"\nbase (A) vs SFT (B) vs GRPO (C) on {results['grpo']['examples']} held-out validation examples "
        f"(intervals and per-category figures in the report):")
    say(format_comparison({**{label(s): r for s, r in results.items()}, "served C": served}))
    say(f"\nreport (tables, intervals, BFCL, plots): {workdir / 'report' / 'report.md'}")
    say(f"models: A {model_path} | B {run_dir / 'model'} | C {grpo_dir / 'model'}")
    say(f"results (every metric, paired deltas, command, commit, machine): {workdir / 'results.json'}")
    say(f"fcray demo: done in {format_seconds(time.time() - console.started)}. vLLM settings sweep (Ray Tune, not "
        f"part of the demo): python -m tune.sweep --preset {config.preset} --set workdir={workdir}")
    command = " ".join(["fcray demo", "--preset", config.preset,
                        *(["--config", config_file] if config_file else []), *[f"--set {o}" for o in overrides]])
    write_results(workdir, command, console.times, console.lines)  # after the last line: its count is final
    return 0
