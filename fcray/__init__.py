"""fcray: post-train and serve a function-calling LLM on Ray.

Stages: data (fcray.data) -> SFT -> GRPO -> eval -> serve. See README.md for the architecture.
"""

__version__ = "0.1.0"
