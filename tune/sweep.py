"""Ray Tune sweep of vLLM's max_num_seqs x max_num_batched_tokens for fcray's Serve app, under a TTFT SLO;
writes the recommended serve config. Parallel trials, each its own Serve app on the cluster.

Submit from the repository root to a running cluster (a local head: `ray start --head --num-cpus 6`):

    ray job submit --working-dir . -- python -m tune.sweep --preset tiny --set workdir=$PWD/fcray_runs

On GPUs (one engine per trial; bench.sweep.* sets the grid, the load and the parallelism):

    ray job submit --working-dir . -- python -m tune.sweep --preset qwen3-0.6b --set workdir=/mnt/shared/fcray \
        --set bench.sweep.max_concurrent_trials=4

Outputs: <workdir>/bench/sweep/{sweep.json,recommended_serve_config.yaml}; the winning settings are
printed as --set overrides for `fcray serve`.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    from fcray.bench.sweep import run_sweep
    from fcray.cli import add_config_args, config_from_args
    from fcray.cluster import connect
    from fcray.serve.launch import model_to_serve
    from fcray.workdir import bench_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_config_args(parser)
    parser.add_argument("--model", help="model to serve in the trials (default: serve.model)")
    args = parser.parse_args(argv)
    config = config_from_args(args)
    connect(min_cpus=2 * config.bench.sweep.max_concurrent_trials + 2)
    out = bench_dir(config) / "sweep"
    summary = run_sweep(config, model_to_serve(config, args.model), out, str(out / "ray_results"))
    print(json.dumps({k: v for k, v in summary.items() if k != "trials"}, indent=2))
    for trial in summary["trials"]:
        print(trial)
    if summary["best"] is None:
        print(f"no setting met TTFT P95 <= {config.bench.slo_ttft_p95_ms} ms at concurrency "
              f"{config.bench.sweep.concurrency}: raise bench.slo_ttft_p95_ms or add replicas", file=sys.stderr)
        return 1
    print(f"recommended: fcray serve --set {' --set '.join(summary['overrides'])}  ({out / 'recommended_serve_config.yaml'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
