"""Shared fixtures. The tiny model is built once per test session (into a session cache folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def fcray_cache(tmp_path_factory) -> Path:
    """FCRAY_CACHE for the session: a reused cache when FCRAY_TEST_CACHE is set, else a fresh folder."""
    path = Path(os.environ.get("FCRAY_TEST_CACHE") or tmp_path_factory.mktemp("fcray-cache"))
    os.environ["FCRAY_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(fcray_cache) -> Path:
    from fcray.config import TinyModelConfig
    from fcray.model.tiny import ensure_tiny_model

    return ensure_tiny_model(TinyModelConfig())


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="session")
def synthetic_examples():
    from fcray.synth.generator import generate_examples

    return generate_examples(300, seed=42)
