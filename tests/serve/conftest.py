"""The serve tests share the ``served`` fixture of tests/conftest.py (one Serve deployment of the tiny
model for the bench and serve folders)."""

import pytest


@pytest.fixture(scope="session")
def no_whitespace(tiny_model_dir):
    """logit_bias that ranks every whitespace-only token last (a random model can stay in a grammar's optional
    whitespace until max_tokens)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = [i for i in range(len(tokenizer)) if (text := tokenizer.decode([i])) and not text.strip()]
    assert ids, "the tokenizer has no whitespace-only token"
    return {str(i): -100 for i in ids}
