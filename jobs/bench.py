"""Bench job: load test of the served model over concurrency x prompt length (bench.*): TTFT, TPOT and
end-to-end latency at P50/P95/P99 and throughput per cell, with a plot.

Without --url the job deploys (or updates) fcray's Ray Serve app of the pipeline's newest model on the
cluster first, then drives it. Submit from the repository root to a running Ray cluster (a local head:
`ray start --head --num-cpus 4`):

    ray job submit --working-dir . -- python -m jobs.bench --preset tiny --set workdir=$PWD/fcray_runs

Any OpenAI-compatible server instead (its key from OPENAI_API_KEY in the job's environment):

    ray job submit --working-dir . -- python -m jobs.bench --preset qwen3-0.6b --set workdir=/mnt/shared/fcray \
        --url http://fcray-serve-head-svc:8000/v1 --model-id fcray-qwen3-0.6b

Outputs: <workdir>/bench/{results.json,results.csv,load_test.png}; `fcray report` adds them to the report.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from fcray.cli import main as fcray_main

    return fcray_main(["bench", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
