"""GRPO: TRL GRPOTrainer on Ray Train workers, vLLM rollout engines in Ray actors, in-memory weight sync."""
