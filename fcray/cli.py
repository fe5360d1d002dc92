"""The ``fcray`` command line: one sub-command per stage.

Every sub-command takes ``--preset NAME`` (tiny | qwen3-0.6b), ``--config FILE`` (YAML layered on the
preset) and any number of ``--set section.key=value``. Errors in configuration or data print one line
naming what is wrong and where, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from fcray.config import ConfigError, FcrayConfig, available_presets, config_to_dict, explain, load_config
from fcray.data.report import DataError
from fcray.eval.errors import EvalError
from fcray.edge import EdgeError
from fcray.model.hub import PushError
from fcray.ray_trainer import CheckpointWriteError



def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="tiny", help=f"configuration preset ({', '.join(available_presets())})")
    parser.add_argument("--config", dest="config_file", help="YAML file layered on top of the preset")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one field, e.g. --set sft.learning_rate=1e-4 (repeatable)")


def config_from_args(args: argparse.Namespace, extra: list[str] | None = None) -> FcrayConfig:
    """The configuration ``--preset``/``--config``/``--set`` (from :func:`add_config_args`) name."""
    return load_config(args.preset, args.config_file, [*args.overrides, *(extra or [])])


def cmd_config(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.explain is None:
        print(yaml.safe_dump(config_to_dict(config), sort_keys=False), end="")
        return 0
    rows = explain(config, args.explain)
    width = max(len(key) for key, *_ in rows)
    for key, type_name, value, help_text in rows:
        # one line per setting: its key, its value in this configuration, its type, what it does
        print(f"{key:<{width}}  {yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"
              f"  ({type_name})  {help_text}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from fcray.data.pipeline import build_dataset, format_summary

    extra = []
    if args.source:
        extra.append(f"data.source={args.source}")
    if args.path:
        extra.append(f"data.path={args.path}")
    if args.strict:
        extra.append("data.strict=true")
    config = config_from_args(args, extra)
    out = Path(args.out) if args.out else Path(config.workdir) / "data"
    files = build_dataset(config.data, out)
    print(format_summary(files))
    if args.export:
        _export(args.export, [files.train, files.validation], config)
    return 0


def _export(kind: str, paths: list[Path], config: FcrayConfig) -> None:
    from fcray.data.export import render_text, to_sharegpt
    from fcray.data.io import load_examples

    tokenizer = None
    if kind == "text":
        from transformers import AutoTokenizer

        from fcray.model.tiny import resolve_model_path

        tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(config.model.name_or_path, config.model.tiny))
    for path in paths:
        out = path.with_suffix(f".{kind}.jsonl")
        with out.open("w") as f:
            for example in load_examples(path):
                record = (to_sharegpt(example) if kind == "sharegpt" else
                          {"id": example["id"], "text": render_text(example, tokenizer, config.model.enable_thinking)})
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"exported {kind}: {out}")


def cmd_model(args: argparse.Namespace) -> int:
    from fcray.model.tiny import ensure_tiny_model

    config = config_from_args(args)
    if config.model.name_or_path != "tiny":
        print(f"model.name_or_path is '{config.model.name_or_path}': nothing to build (loaded from the Hub or disk)")
        return 0
    folder = ensure_tiny_model(config.model.tiny)
    print(folder)
    shape = json.loads((folder / "config.json").read_text())
    print(f"  {shape['num_hidden_layers']} layers x {shape['hidden_size']} wide, vocabulary {shape['vocab_size']}, "
          f"context {shape['max_position_embeddings']}")
    record = folder / "pretraining.json"
    if record.exists():
        run = json.loads(record.read_text())
        curve = ", ".join(f"{p['tokens']:,}: {p['loss']:.2f}" for p in run["loss_curve"][:: max(1, len(run["loss_curve"]) // 6)])
        print(f"  {run['parameters'] / 1e6:.2f}M parameters, pretrained on {run['tokens_seen']:,} tokens in "
              f"{run['seconds']:.0f} s; loss by tokens seen: {curve}; final {run['final_loss']:.3f}")
    else:
        print("  random init (model.tiny.pretrain_tokens: 0)")
    return 0


def cmd_sft(args: argparse.Namespace) -> int:
    from fcray.sft.train import run_sft

    config = config_from_args(args)
    if args.show_example:
        return _show_training_example(config)
    result = run_sft(config, args.run_name)
    if result.error is not None:
        print(f"fcray sft: training failed: {result.error}", file=sys.stderr)
        return 1
    print(f"fcray sft: done. final metrics: {json.dumps(result.metrics)}")
    print(f"checkpoints: {result.path}")
    if not args.no_eval:
        from fcray.eval.compare import format_comparison
        from fcray.model.tiny import resolve_model_path
        from fcray.eval.stages import evaluate_sft_run
        from fcray.workdir import run_dir

        base_model = resolve_model_path(config.model.name_or_path, config.model.tiny)
        summaries = evaluate_sft_run(config, run_dir(config, "sft", args.run_name), base_model)
        print(f"held-out validation ({summaries['sft']['examples']} examples), fcray.toolcall checks:")
        print(format_comparison(summaries))
    return 0


def cmd_grpo(args: argparse.Namespace) -> int:
    from fcray.grpo.train import run_grpo, starting_model
    from fcray.workdir import run_dir as stage_run_dir

    config = config_from_args(args)
    start_model = starting_model(config)  # fails early, with the fix, when there is no SFT model yet
    result = run_grpo(config, args.run_name)
    if result.error is not None:
        print(f"fcray grpo: training failed: {result.error}", file=sys.stderr)
        return 1
    run_dir = stage_run_dir(config, "grpo", args.run_name)
    print(f"fcray grpo: done. final metrics: {json.dumps(result.metrics)}")
    print(f"model C: {run_dir / 'model'}; metrics: {run_dir / 'metrics.jsonl'}; curves: {run_dir / 'curves.png'}")
    if not args.no_eval:
        from fcray.eval.compare import format_comparison

        from fcray.eval.stages import evaluate_grpo_run

        summaries = evaluate_grpo_run(config, run_dir, start_model)
        print(f"held-out validation ({summaries['grpo']['examples']} examples), fcray.toolcall checks:")
        print(format_comparison(summaries))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """data -> SFT -> GRPO, each stage as `fcray sft` and `fcray grpo` run it (the data is built by the first
    stage that needs it, and reused while its settings are unchanged)."""
    print("fcray train: SFT (model B), then GRPO from it (model C)")
    code = cmd_sft(argparse.Namespace(**vars(args), show_example=False, run_name=None))
    if code != 0:
        return code
    import ray

    # A local Ray instance is sized for the stage that started it (SFT's workers); GRPO also needs its rollout
    # engines, so it connects afresh (to the same RAY_ADDRESS cluster, or a new local one of its size).
    ray.shutdown()
    return cmd_grpo(argparse.Namespace(**vars(args), run_name=None))


def cmd_export(args: argparse.Namespace) -> int:
    from fcray.model.export import check_loads_in_vllm, merge_to_folder, verify_model

    out = merge_to_folder(args.source, args.out, args.base)
    print(f"merged model written to {out}")
    if args.check_example:
        from fcray.data.io import load_examples

        example = next(e for e in load_examples(args.check_example) if e["ground_truth"]["kind"] == "call")
        print(f"check: {json.dumps(verify_model(out, example))}")
    if args.check_vllm:
        print(f"vLLM: {json.dumps(check_loads_in_vllm(out))}")
    return 0


def cmd_export_push(args: argparse.Namespace) -> int:
    from fcray.model.hub import push_model

    print(f"pushed {args.model}: {push_model(args.model, args.repo_id, args.private, args.endpoint)}")
    return 0


def cmd_export_gguf(args: argparse.Namespace) -> int:
    from fcray.edge.stage import export_model

    config = config_from_args(args)
    record = export_model(config, args.model, args.out, check=not args.no_check)
    print(f"GGUF files of {record['model']}:")
    for kind, info in record["files"].items():
        checked = record.get("checks", {}).get(kind)
        extra = (f", tokenization identical on {checked['tokenization']['prompts']} validation prompts, greedy "
                 f"agreement {checked['greedy_prefix_agreement']:.2f}") if checked else ""
        print(f"  {kind:7s} {info['bytes'] / 2**20:8.1f} MiB  {info['path']}{extra}")
    print(f"Ollama: {record['modelfile']}")
    return 0


def cmd_edge_serve(args: argparse.Namespace) -> int:
    import signal
    import time

    from fcray.edge.server import LlamaServer
    from fcray.edge.stage import gguf_to_serve

    config = config_from_args(args)
    path = gguf_to_serve(config, args.gguf, args.model)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` stops the server as Ctrl-C does
    with LlamaServer(path, config.edge, config.serve.model_id) as server:
        print(f"llama.cpp serves {path} as '{config.serve.model_id}' at {server.url} "
              f"({config.edge.threads} thread(s)); Ctrl-C stops it", flush=True)
        try:
            while server.process is not None and server.process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_edge_score(args: argparse.Namespace) -> int:
    from fcray.eval.edge import gguf_label, score_gguf
    from fcray.eval.stages import report_for
    from fcray.edge.stage import model_folder

    config = config_from_args(args)
    edge = score_gguf(config, model_folder(config, args.model))
    for kind, f in edge["files"].items():
        print(f"{gguf_label(kind)}: {f['file_bytes'] / 2**20:.1f} MiB, exact match {f['exact_match']}, name accuracy "
              f"{f['name_accuracy']}, parse {f['parse_rate']}, TTFT P50 {(f['ttft_ms'] or {}).get('p50')} ms, "
              f"{f['generation_tokens_per_s']} tokens/s generated, peak RSS {(f['peak_rss_bytes'] or 0) / 2**20:.0f} MiB")
    print(f"report: {report_for(config)}")
    return 0


def _show_training_example(config: FcrayConfig) -> int:
    from transformers import AutoTokenizer

    from fcray.data.io import load_examples
    from fcray.data.pipeline import ensure_dataset
    from fcray.model.tiny import resolve_model_path
    from fcray.sft.inspect import format_loss_mask, loss_mask

    train = ensure_dataset(config.data, config.workdir) / "train.jsonl"
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(config.model.name_or_path, config.model.tiny))
    example = next(e for e in load_examples(train) if e["category"] == "multi_turn")
    print(f"training example {example['id']} as SFT sees it (assistant_only_loss={config.sft.assistant_only_loss}):")
    print(format_loss_mask(*loss_mask(example, tokenizer, config.sft.assistant_only_loss), tokenizer))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from fcray.eval.compare import format_comparison
    from fcray.data.io import load_examples
    from fcray.eval.stages import STAGES, bfcl_for, evaluate_one, evaluate_stages, report_for, stage_models

    config = config_from_args(args)
    if args.model:
        models = {args.name: args.model}
        results = {args.name: evaluate_one(config, args.model, args.name, args.data, args.out)}
    else:
        stages = args.stages.split(",")
        unknown = sorted(set(stages) - set(STAGES))
        if unknown:
            raise ConfigError(f"--stages: unknown stage(s) {unknown}; stages are {list(STAGES)}")
        models = {s: m for s, m in stage_models(config).items() if s in stages}
        results = evaluate_stages(config, models, examples=None if not args.data else load_examples(args.data))
    print(format_comparison(results))
    if args.bfcl:
        for name, scores in bfcl_for(config, models).items():
            print(f"BFCL {name}: {json.dumps(scores['sections'])}; overall (offline categories, BFCL weights) "
                  f"{scores['offline_overall']}")
    if not args.model:
        print(f"report: {report_for(config)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from fcray.eval.stages import report_for

    runs = dict(r.split("=", 1) for r in args.run) if args.run else None
    print(f"report: {report_for(config_from_args(args), runs, args.out)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from fcray.serve.config import write_serve_config

    config = config_from_args(args)
    if args.from_sweep:  # the sweep's choice first, so the user's own --set still wins
        from fcray.bench.sweep import chosen_overrides
        from fcray.workdir import bench_dir

        chosen = chosen_overrides(bench_dir(config))
        print(f"fcray serve: the sweep's settings: {' '.join(chosen)}")
        config = load_config(args.preset, args.config_file, [*chosen, *args.overrides])
    if args.write_config:
        print(f"wrote {write_serve_config(config)}")
        if config.preset == "qwen3-0.6b":  # the GPU deployment: KubeRay manifests embed its serve config
            from fcray.serve.kuberay import write_manifests

            for path in write_manifests(config):
                print(f"wrote {path}")
        return 0
    from fcray.cluster import ensure_head, use_head
    from fcray.serve.launch import deploy

    if args.stop:
        return _stop_serving()
    head = ensure_head(num_cpus=args.num_cpus)
    use_head(head)  # the Serve REST client authenticates like `ray job submit` does
    served = deploy(config, head.address, args.model)
    print(f"fcray serve: '{served.model_id}' ({served.model}) is up: OpenAI API at {served.url}")
    print(f"  curl {served.url}/models    |    metrics: Ray's Prometheus port    |    stop: fcray serve --stop")
    return 0


def _stop_serving() -> int:
    """``fcray serve --stop``: delete the Serve apps, then stop the head if `fcray serve` started it."""
    from fcray.cluster import running_head, stop_started_head, use_head
    from fcray.serve.launch import shutdown

    head = running_head()
    if head is None:
        print("fcray serve --stop: no Ray cluster answers (RAY_ADDRESS, or a local head on fcray's dashboard "
              "port): nothing to stop")
        return 0
    use_head(head)
    shutdown(head.address)
    print(f"fcray serve --stop: deleted the Serve apps on {head.address}")
    pid = stop_started_head(head.address)
    if pid is not None:
        print(f"fcray serve --stop: stopped the Ray head that fcray started there (process {pid})")
    else:
        print("fcray serve --stop: fcray did not start that Ray cluster; it keeps running")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from fcray.bench.loadgen import bench_into

    config = config_from_args(args)
    url, model_id = args.url, args.model_id or config.serve.model_id
    dashboard = None  # the cluster fcray deploys on (whose metrics the load test then reads)
    if url is None:  # deploy (or update) fcray's Serve app on the local / RAY_ADDRESS cluster first
        from fcray.cluster import ensure_head, use_head
        from fcray.serve.launch import deploy

        head = ensure_head(num_cpus=4)
        use_head(head)
        url, dashboard = deploy(config, head.address, args.model).url, head.address
    from fcray.credentials import client_api_key
    from fcray.workdir import bench_dir

    out = bench_dir(config)
    # serve.api_key when set (fcray's own server), else $OPENAI_API_KEY
    rows = bench_into(out, url, model_id, config.bench, api_key=client_api_key(config.serve.api_key, "serve.api_key"),
                      dashboard=dashboard)
    print(f"fcray bench: {len(rows)} cells -> {out / 'results.json'}, {out / 'load_test.png'} "
          f"(`fcray report` adds the plot to the report)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fcray.demo import run_demo

    return run_demo(config_from_args(args), args.config_file, args.overrides, bfcl=not args.no_bfcl, verbose=args.verbose)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fcray", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("config", help="print the resolved configuration, or what each setting means (--explain)")
    add_config_args(p)
    p.add_argument("--explain", nargs="?", const="", metavar="KEY",
                   help="list every setting (or those under KEY, e.g. grpo.engine) with its value, type and help")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("data", help="build the canonical train/validation sets")
    add_config_args(p)
    p.add_argument("--source", help="shortcut for --set data.source=... (synthetic, xlam, hermes, jsonl)")
    p.add_argument("--path", help="shortcut for --set data.path=... (Hub id or local file)")
    p.add_argument("--strict", action="store_true", help="fail on the first rejected row")
    p.add_argument("--out", help="output folder (default: <workdir>/data)")
    p.add_argument("--export", choices=["sharegpt", "text"], help="also export the splits in this format")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("model", help="build (once) the embedded tiny model and print its folder")
    add_config_args(p)
    p.set_defaults(func=cmd_model)

    p = sub.add_parser("sft", help="supervised fine-tuning on Ray Train (TRL SFTTrainer, optional LoRA)")
    add_config_args(p)
    p.add_argument("--run-name", help="Ray Train run name (default: sft-<preset>); the same name resumes")
    p.add_argument("--no-eval", action="store_true", help="skip scoring base vs SFT model on validation")
    p.add_argument("--show-example", action="store_true",
                   help="print one rendered training example with its loss mask, then exit (no training)")
    p.set_defaults(func=cmd_sft)

    p = sub.add_parser("grpo", help="GRPO on Ray (TRL GRPOTrainer workers, vLLM rollout actors, in-memory weight sync)")
    add_config_args(p)
    p.add_argument("--run-name", help="Ray Train run name (default: grpo-<preset>); the same name resumes")
    p.add_argument("--no-eval", action="store_true", help="skip scoring the SFT vs GRPO model on validation")
    p.set_defaults(func=cmd_grpo)

    p = sub.add_parser("train", help="the whole training: data, SFT (model B), then GRPO from it (model C), each "
                                     "scored on held-out validation")
    add_config_args(p)
    p.add_argument("--no-eval", action="store_true", help="skip scoring A vs B and B vs C on validation")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="merge a LoRA adapter (or copy full weights) into a self-contained model")
    export_sub = p.add_subparsers(dest="export_command", required=True)
    merge = export_sub.add_parser("merge", help="base + adapter -> merged Hugging Face model folder")
    merge.add_argument("--source", required=True, help="adapter folder (adapter_config.json) or model folder")
    merge.add_argument("--out", required=True, help="where to write the merged model")
    merge.add_argument("--base", help="base model (default: the adapter's base_model_name_or_path)")
    merge.add_argument("--check-example", metavar="JSONL", help="canonical examples: generate for one tool prompt")
    merge.add_argument("--check-vllm", action="store_true", help="also load the merged model in vLLM")
    merge.set_defaults(func=cmd_export)
    push = export_sub.add_parser("push", help="upload a model folder (merged weights + Hub model card) to the "
                                              "Hugging Face Hub; the token comes from HF_TOKEN or `hf auth login`")
    push.add_argument("--model", required=True, help="the model folder, e.g. <workdir>/runs/grpo-tiny/model")
    push.add_argument("--repo-id", required=True, help="the Hub repository, e.g. my-org/fcray-qwen3-0.6b-fc")
    push.add_argument("--private", action="store_true", help="create the repository as private")
    push.add_argument("--endpoint", help="another Hub (default: HF_ENDPOINT, else huggingface.co)")
    push.set_defaults(func=cmd_export_push)
    gguf = export_sub.add_parser("gguf", help="merged model -> GGUF files (edge.quantizations) checked by llama.cpp")
    add_config_args(gguf)
    gguf.add_argument("--model", help="model folder, Hub id or tiny (default: the newest of the pipeline's C/B/A)")
    gguf.add_argument("--out", help="output folder (default: <workdir>/gguf/<model name>)")
    gguf.add_argument("--no-check", action="store_true",
                      help="skip llama.cpp's checks (tokenization of the validation prompts, greedy generation)")
    gguf.set_defaults(func=cmd_export_gguf)

    p = sub.add_parser("edge", help="the offline deployment: llama.cpp's OpenAI server for a GGUF file")
    edge_sub = p.add_subparsers(dest="edge_command", required=True)
    serve = edge_sub.add_parser("serve", help="serve a GGUF file with llama.cpp on loopback (edge.*) until Ctrl-C")
    add_config_args(serve)
    serve.add_argument("--gguf", help="the GGUF file (default: the edge.serve_quantization file of --model's export)")
    serve.add_argument("--model", help="model whose GGUF to serve (default: the newest of the pipeline's C/B/A)")
    serve.set_defaults(func=cmd_edge_serve)
    score = edge_sub.add_parser("score", help="export --model to GGUF, score each quantized file with fcray's eval on "
                                              "llama.cpp, measure size/memory/latency/speed, update the report")
    add_config_args(score)
    score.add_argument("--model", help="model to export and score (default: the newest of the pipeline's C/B/A)")
    score.set_defaults(func=cmd_edge_score)

    p = sub.add_parser("eval", help="score models on the validation set (hf | vllm | endpoint backend), write the report")
    add_config_args(p)
    p.add_argument("--model", help="one model to score: a folder, a Hub id, or (endpoint backend) a served model "
                                   "name; default: the pipeline's base/SFT/GRPO models, then the report")
    p.add_argument("--name", default="model", help="label of --model's results (default: model)")
    p.add_argument("--stages", default="base,sft,grpo", help="pipeline models to score (those that exist)")
    p.add_argument("--data", help="canonical examples (JSONL/Parquet); default: <workdir>/data/validation.jsonl")
    p.add_argument("--out", help="output folder for --model (default: <workdir>/eval/<name>)")
    p.add_argument("--bfcl", action="store_true", help="also run BFCL's own harness (offline categories, eval.bfcl.*) "
                                                       "against a local vLLM server of each model")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("report", help="Markdown table + plots comparing the evaluated models")
    add_config_args(p)
    p.add_argument("--run", action="append", metavar="LABEL=FOLDER",
                   help="an eval output folder to include (repeatable, in order); default: <workdir>/eval/<stage>")
    p.add_argument("--out", help="output folder (default: <workdir>/report)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("serve", help="deploy the model with Ray Serve LLM (OpenAI API, tool calling) on a Ray cluster")
    add_config_args(p)
    p.add_argument("--model", help="model folder or Hub id (default: serve.model; 'pipeline' = newest of C/B/A)")
    p.add_argument("--num-cpus", type=int, default=4,
                   help="logical CPUs of a local head started here (the engine replica + ingress + proxy)")
    p.add_argument("--write-config", action="store_true",
                   help="write serve_configs/<preset>.yaml from the preset and exit (what `serve deploy` takes)")
    p.add_argument("--stop", action="store_true",
                   help="delete the deployed Serve apps and stop the Ray head if `fcray serve` started it, then exit")
    p.add_argument("--from-sweep", action="store_true",
                   help="use the engine settings the sweep chose (<workdir>/bench/sweep/sweep.json); --set still wins")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("bench", help="load test the served model over concurrency x prompt length (bench.*)")
    add_config_args(p)
    p.add_argument("--url", help="OpenAI base URL of a running server (default: deploy fcray's Serve app first)")
    p.add_argument("--model-id", help="served model name (default: serve.model_id)")
    p.add_argument("--model", help="with no --url: the model to deploy (default: serve.model)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", help="run the whole pipeline on the chosen preset (the main job)")
    add_config_args(p)
    p.add_argument("--no-bfcl", action="store_true", help="skip BFCL in the eval stage")
    p.add_argument("--verbose", action="store_true",
                   help="print every stage's full output (Ray, vLLM, TRL) as well; by default it goes only to "
                        "<workdir>/logs/<n>-<stage>.log and the console shows stages, progress and results")
    p.set_defaults(func=cmd_demo)

    return parser


def job_main(stage: str, argv: list[str] | None, description: str) -> int:
    """The body of a ``jobs/<stage>.py`` entrypoint (run as ``python -m jobs.<stage>``): ``fcray <stage>`` with the job's arguments."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run-name", help=f"Ray Train run name (default: {stage}-<preset>)")
    known, rest = parser.parse_known_args(argv)
    return main([stage, *rest, *(["--run-name", known.run_name] if known.run_name else [])])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, DataError, FileNotFoundError, EvalError, EdgeError, CheckpointWriteError, PushError) as exc:
        print(f"fcray {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
