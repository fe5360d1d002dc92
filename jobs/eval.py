"""Eval job: score the pipeline's models (base "A", SFT "B", GRPO "C") on the validation set, write the report.

Predictions come from fcray's vLLM engine actors on the cluster (eval.backend=vllm, the presets' default),
from Hugging Face generate (hf), or from an OpenAI-compatible endpoint (endpoint). Submit from the
repository root to a running Ray cluster (a local head: `ray start --head`):

    ray job submit --working-dir . -- python -m jobs.eval --preset tiny --set workdir=$PWD/fcray_runs

One model, e.g. the served one behind `fcray serve`:

    ray job submit --working-dir . -- python -m jobs.eval --preset tiny --set workdir=$PWD/fcray_runs \
        --set eval.backend=endpoint --set eval.endpoint=http://127.0.0.1:8000/v1 --model fcray-tiny --name served

Outputs: <workdir>/eval/<name>/{predictions.jsonl,results.json} and <workdir>/report/report.md with PNGs.
A stopped run resumes: resubmitting generates only the predictions that are missing.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from fcray.cli import main as fcray_main

    return fcray_main(["eval", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
