"""Probe: does an SFT recipe make the tiny model learn the task? (run by hand; not collected by pytest)

    .venv/bin/python tests/benchmarks/probe_sft_recipe.py --name asst --set sft.assistant_only_loss=true \
        [--set model.tiny.pretrain_tokens=2000000] [--eval-n 120] [--workdir /tmp/fcray-probe]

One SFT run of the tiny preset (any ``--set`` override) in one process with both cores: TRL's SFTTrainer
through fcray's own ``build_trainer`` (the code a Ray Train worker runs), then greedy generation on the
first ``--eval-n`` validation examples scored by fcray's own judge (``evaluate_completions``, as ``fcray
eval`` does). Faster to iterate on than ``fcray sft`` + ``fcray eval`` (no Ray start-up, no export, no vLLM
engines), and the same training and scoring code. A ``model.tiny.pretrain_*`` override builds (once, in
the model cache) and starts from that pretrained base.

Prints the headline metrics and three completions; writes ``<workdir>/runs/<name>/result.json`` (the
overrides, training time and steps, the full summary with per-category figures).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

HEADLINE = ("parse_rate", "name_accuracy", "args_f1", "exact_match", "result_match", "irrelevance_accuracy",
            "accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="run name (a folder under <workdir>/runs)")
    parser.add_argument("--set", action="append", default=[], help="a config override, as fcray's --set")
    parser.add_argument("--eval-n", type=int, default=120, help="validation examples scored")
    parser.add_argument("--workdir", default="/tmp/fcray-probe", help="data and runs of the probe")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    from fcray.config import load_config
    from fcray.data.pipeline import ensure_dataset, validation_examples
    from fcray.eval.generate import generate_with
    from fcray.eval.metrics import evaluate_completions
    from fcray.model.tiny import resolve_model_path
    from fcray.sft.train import SFTJob, build_trainer
    from transformers import AutoTokenizer

    config = load_config("tiny", overrides=[f"workdir={args.workdir}", "sft.ray_train.num_workers=1",
                                            "sft.ray_train.cpus_per_worker=2", "sft.save_steps=100000", *args.set])
    run_dir = Path(args.workdir) / "runs" / args.name
    run_dir.mkdir(parents=True, exist_ok=True)
    train_path = ensure_dataset(config.data, args.workdir) / "train.jsonl"
    model_path = resolve_model_path(config.model.name_or_path, config.model.tiny)
    job = SFTJob(sft=config.sft, model_path=model_path, train_path=str(train_path), run_dir=str(run_dir),
                 dtype="float32")
    started = time.time()
    trainer = build_trainer(job, 1)
    trainer.train()
    train_s = time.time() - started
    model = trainer.model
    if hasattr(model, "merge_and_unload"):  # a LoRA run: score the merged model, as fcray exports it
        model = model.merge_and_unload()
    model.eval()

    tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    examples = validation_examples(args.workdir)[: args.eval_n]
    started = time.time()
    completions = generate_with(model, tokenizer, examples, max_new_tokens=96)
    _, summary = evaluate_completions(completions, examples)
    result = {"name": args.name, "overrides": args.set, "model": model_path, "train_s": round(train_s, 1),
              "eval_s": round(time.time() - started, 1), "steps": trainer.state.global_step,
              "examples": len(examples), "summary": summary}
    (run_dir / "result.json").write_text(json.dumps(result, indent=1, default=str) + "\n")

    print(json.dumps({k: result[k] for k in ("name", "overrides", "train_s", "steps")}))
    for metric in HEADLINE:
        value = summary["metrics"].get(metric)
        print(f"{metric:22s} {value['mean']:.3f}" if value else f"{metric:22s} –")
    for example, completion in list(zip(examples, completions))[:3]:
        print("---", example["messages"][0]["content"][:120], "\n>>>", completion[:200])


if __name__ == "__main__":
    main()
