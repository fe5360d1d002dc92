"""The serve tests share the ``served`` fixture of tests/conftest.py (one Serve deployment of the tiny
model for this package), deployed with constrained decoding of tool calls (fcray's ingress adds the
grammar to requests that offer tools with tool_choice auto and no constraint of their own)."""

import pytest


@pytest.fixture(scope="package")
def served_overrides() -> list[str]:
    # Bounds that keep the random model's constrained calls within the tests' max_tokens.
    return ["decoding.constrained=true", "decoding.max_calls=1", "decoding.max_string_length=16"]
