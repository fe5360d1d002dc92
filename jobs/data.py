"""Data job: build the canonical train/validation sets (messages + JSON-Schema tools + ground truth) into the
workdir, with the rejected rows and a summary beside them.

Submit from the repository root to a running Ray cluster (a local head: `ray start --head`):

    ray job submit --working-dir . -- python -m jobs.data --preset tiny --set workdir=$PWD/fcray_runs

From the Hub (the cluster needs HF_TOKEN for gated sets; on KubeRay every pod gets it from the hf-token
Secret) or a file on shared storage:

    ray job submit --working-dir . -- python -m jobs.data --preset qwen3-0.6b --set workdir=/mnt/shared/fcray \
        --source xlam --path Salesforce/xlam-function-calling-60k
    ray job submit --working-dir . -- python -m jobs.data --preset tiny --set workdir=$PWD/fcray_runs \
        --source jsonl --path /mnt/shared/my_calls.jsonl --strict

Outputs: <workdir>/data/{train,validation}.{jsonl,parquet}, rejected.jsonl, summary.json. The training jobs
reuse these files while the data settings they were built from are unchanged.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from fcray.cli import main as fcray_main

    return fcray_main(["data", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
