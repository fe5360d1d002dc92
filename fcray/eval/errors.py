"""Errors of the eval stage (kept apart so the command line can catch them without importing a backend)."""


class EvalError(RuntimeError):
    """Predictions cannot be made: an endpoint is down or answers garbage, a model or results are missing."""
