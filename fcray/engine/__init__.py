"""Shared vLLM services: engines as Ray actors (:mod:`fcray.engine.vllm_pool`), used by GRPO's rollouts and by
evaluation, and the in-memory weight sync from a training worker into them (:mod:`fcray.engine.weight_sync`)."""
