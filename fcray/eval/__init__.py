"""Evaluation: generate completions for canonical examples and score them with fcray.toolcall."""
