"""fcray: post-train and serve a function-calling LLM on Ray.

Stages: data (fcray.data) -> SFT -> GRPO -> eval -> serve. See docs/architecture.md for the layers.
"""

__version__ = "0.1.0"
