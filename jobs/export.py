"""Export job: GGUF files (edge.quantizations: f16, Q8_0, Q4_K_M) of the pipeline's newest model, checked
by llama.cpp (every validation prompt tokenized as the Hugging Face tokenizer does, greedy generation).

Submit from the repository root to a running Ray cluster (a local head: `ray start --head`):

    ray job submit --working-dir . -- python -m jobs.export gguf --preset tiny --set workdir=$PWD/fcray_runs

One model folder, or a merged-model export first:

    ray job submit --working-dir . -- python -m jobs.export gguf --preset tiny --model $PWD/fcray_runs/runs/grpo-tiny/model
    ray job submit --working-dir . -- python -m jobs.export merge --source ADAPTER_DIR --out MERGED_DIR

A trained model folder to the Hugging Face Hub; the token is read from HF_TOKEN in the cluster's
environment (on KubeRay every pod gets it from the hf-token Secret), never from the command line:

    ray job submit --working-dir . -- python -m jobs.export push \
        --model $PWD/fcray_runs/runs/grpo-tiny/model --repo-id my-org/fcray-fc

Outputs: <workdir>/gguf/<model name>/{<name>-<type>.gguf, Modelfile, export.json}.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from fcray.cli import main as fcray_main

    return fcray_main(["export", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
