"""GRPO job: TRL GRPOTrainer on Ray Train workers, rollouts from vLLM engines in Ray actors; writes model "C".

It starts from the merged SFT model of the same preset (`jobs/sft.py` first) or `grpo.model_path`.
Submit to a running Ray cluster (a local head: `ray start --head`) from the repository root:

    ray job submit --working-dir . -- python -m jobs.grpo --preset tiny --set workdir=$PWD/fcray_runs

and on a GPU cluster (one GPU per policy worker and per rollout engine; outputs on shared or cloud storage):

    ray job submit --working-dir . -- python -m jobs.grpo --preset qwen3-0.6b \
        --set workdir=/mnt/shared/fcray --set grpo.ray_train.storage_path=s3://my-bucket/fcray/ray_results

`--working-dir` runs the job in a copy of the repository, so give `workdir` as an absolute path where the
outputs should stay. Resubmitting with the same run name (`--run-name`) resumes from its latest checkpoint.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from fcray.cli import job_main

    return job_main("grpo", argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
