"""`fcray demo`: the main job — the whole pipeline on one preset, as far as its stages exist.

data -> model -> SFT -> GRPO -> serve (Ray Serve LLM, scored through its OpenAI API, load-tested) -> eval
(+ BFCL) and the report; the jobs are submitted with `ray job submit` (jobs/sft.py, jobs/grpo.py, jobs/eval.py) to a Ray
cluster: a local head the demo starts and stops. Each stage writes under ``<workdir>``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from fcray.config import FcrayConfig

REPO_ROOT = Path(__file__).resolve().parents[1]


def serve_and_score(config: FcrayConfig, head, model: Path) -> dict:
    """Deploy ``model`` with fcray's Serve app on ``head``, score the served model on the validation set
    through its OpenAI API (eval's endpoint backend, into ``<workdir>/eval/served``), load-test it over
    ``bench.*`` (``<workdir>/bench``), then delete the app. Returns the served model's eval results."""
    import os
    import shutil
    from dataclasses import replace

    from fcray.bench.loadgen import bench_into
    from fcray.data.pipeline import validation_examples
    from fcray.eval.run import run_eval
    from fcray.eval.stages import eval_dir
    from fcray.serve.launch import deploy, shutdown

    os.environ.update(head.env)  # Serve's REST client authenticates like `ray job submit`
    deployment = deploy(config, head.address, model=str(model))
    print(f"'{deployment.model_id}' is up: OpenAI API at {deployment.url}")
    out = eval_dir(config) / "served"
    shutil.rmtree(out, ignore_errors=True)  # a served name says nothing of which weights: always score anew
    try:
        results = run_eval(deployment.model_id, validation_examples(config.workdir),
                           replace(config.eval, backend="endpoint", endpoint=deployment.url), out)
        bench_into(Path(config.workdir).resolve() / "bench", deployment.url, deployment.model_id, config.bench)
        return results
    finally:
        shutdown(head.address)


def run_demo(config: FcrayConfig, config_file: str | None = None, overrides: list[str] | tuple[str, ...] = (),
             bfcl: bool = True) -> int:
    from transformers import AutoTokenizer

    from fcray.cluster import ray_head, submit_job
    from fcray.data.export import render_text
    from fcray.data.io import load_examples
    from fcray.data.pipeline import build_dataset, format_summary
    from fcray.eval.compare import format_comparison
    from fcray.eval.run import load_results
    from fcray.eval.stages import eval_dir, label
    from fcray.model.tiny import resolve_model_path
    from fcray.grpo.train import cpus_needed, grpo_run_dir
    from fcray.sft.train import sft_run_dir

    workdir = Path(config.workdir).resolve()
    print(f"== fcray demo: preset '{config.preset}', outputs in {workdir}")

    start = time.time()
    print("\n== [1/6] data")
    files = build_dataset(config.data, workdir / "data")
    print(format_summary(files))
    print(f"(data: {time.time() - start:.1f}s)")

    start = time.time()
    print("\n== [2/6] model")
    model_path = resolve_model_path(config.model.name_or_path, config.model.tiny)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    example = next(e for e in load_examples(files.validation) if e["category"] == "parallel")
    text = render_text(example, tokenizer, config.model.enable_thinking)
    print(f"model: {model_path}")
    print(f"one validation example ({example['id']}, {len(tokenizer(text)['input_ids'])} tokens), as the model sees it:")
    # The template's prose mentions "<tools></tools>" first; the schemas sit in the "<tools>\n…\n</tools>" block.
    start_tools, end_tools = text.index("<tools>\n") + len("<tools>\n"), text.index("\n</tools>")
    names = ", ".join(t["function"]["name"] for t in example["tools"])
    print(text[:start_tools] + f"[{len(example['tools'])} tool schemas: {names}]" + text[end_tools:])
    print(f"(model: {time.time() - start:.1f}s)")

    start = time.time()
    print("\n== [3/6] sft (ray job submit jobs/sft.py)")
    common = ["--preset", config.preset, *(["--config", str(Path(config_file).resolve())] if config_file else []),
              *[a for o in overrides for a in ("--set", o)], "--set", f"workdir={workdir}"]
    num_cpus = max(2, config.sft.num_workers * config.sft.cpus_per_worker, cpus_needed(config.grpo))
    with ray_head(num_cpus=num_cpus) as head:
        print(f"Ray cluster: {head.address}")
        code = submit_job(head, [sys.executable, "jobs/sft.py", *common], REPO_ROOT)
        if code != 0:
            print(f"fcray demo: the SFT job failed (exit {code}); see its log above", file=sys.stderr)
            return code
        run_dir = sft_run_dir(config)
        stage_results = {s: load_results(eval_dir(config) / s) for s in ("base", "sft")}
        print(f"(sft: {time.time() - start:.1f}s)")
        print(f"\nbase (A) vs SFT (B) on {stage_results['sft']['examples']} held-out validation examples:")
        print(format_comparison({label(s): r for s, r in stage_results.items()}))
        print(f"SFT model: {run_dir / 'model'}; metrics: {run_dir / 'metrics.jsonl'}; loss curve: {run_dir / 'loss.png'}")

        start = time.time()
        print("\n== [4/6] grpo (ray job submit jobs/grpo.py)")
        code = submit_job(head, [sys.executable, "jobs/grpo.py", *common], REPO_ROOT)
        if code != 0:
            print(f"fcray demo: the GRPO job failed (exit {code}); see its log above", file=sys.stderr)
            return code
        grpo_dir = grpo_run_dir(config)
        print(f"(grpo: {time.time() - start:.1f}s)")
        print(f"GRPO model: {grpo_dir / 'model'}; metrics: {grpo_dir / 'metrics.jsonl'}; curves: {grpo_dir / 'curves.png'}")

        start = time.time()
        print("\n== [5/6] serve model C with Ray Serve LLM (fcray.serve), score it through its OpenAI API, load-test it")
        served = serve_and_score(config, head, grpo_dir / "model")
        print(f"(serve: {time.time() - start:.1f}s)")

        start = time.time()
        print("\n== [6/6] eval of A, B, C + BFCL + report (ray job submit jobs/eval.py --bfcl)")
        code = submit_job(head, [sys.executable, "jobs/eval.py", *common, *(["--bfcl"] if bfcl else [])], REPO_ROOT)
    if code != 0:
        print(f"fcray demo: the eval job failed (exit {code}); see its log above", file=sys.stderr)
        return code
    stage_results = {s: load_results(eval_dir(config) / s) for s in ("base", "sft", "grpo")}
    print(f"(eval: {time.time() - start:.1f}s)")
    print(f"\nbase (A) vs SFT (B) vs GRPO (C) on {stage_results['grpo']['examples']} held-out validation examples:")
    print(format_comparison({**{label(s): r for s, r in stage_results.items()}, "served C": served}))
    print(f"report (table, intervals, BFCL, plots): {workdir / 'report' / 'report.md'}")
    print("vLLM settings sweep for the served model (Ray Tune, not part of the demo): python tune/sweep.py --preset "
          f"{config.preset} --set workdir={workdir}")
    return 0
