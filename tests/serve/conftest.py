"""The serve tests share the ``served`` fixture of tests/conftest.py (one Serve deployment of the tiny
model for the bench and serve folders)."""

import contextlib

import pytest


def _redeploy(config, head, model):
    from fcray.readiness import wait_until
    from fcray.serve.launch import app_status, deploy, shutdown

    shutdown(head.address)  # a clean start: the new engine's first request binds its backend
    wait_until(lambda: app_status(head.address)[0] == "NOT_STARTED", "the Serve app to go", 300, interval_s=2)
    return deploy(config, head.address, model=model)


@contextlib.contextmanager
def redeployed(served, model, **changes):
    """The shared test head's app redeployed with ``dataclasses.replace(config, **changes)`` (a module's own
    server settings: constrained decoding, a key, limits), and the shared config put back afterwards, so the
    tests before and after see the shared server. Yields the new Deployment."""
    import dataclasses

    _, head, config = served
    try:
        yield _redeploy(dataclasses.replace(config, **changes), head, model)
    finally:
        _redeploy(config, head, model)


@pytest.fixture(scope="session")
def no_whitespace(tiny_model_dir):
    """logit_bias that ranks every whitespace-only token last (a random model can stay in a grammar's optional
    whitespace until max_tokens)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = [i for i in range(len(tokenizer)) if (text := tokenizer.decode([i])) and not text.strip()]
    assert ids, "the tokenizer has no whitespace-only token"
    return {str(i): -100 for i in ids}
