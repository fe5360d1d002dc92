"""Shared fixtures. The tiny model is built once per test session (into a session cache folder); a Serve
deployment of it (``served``) is shared within the serving and the load-test packages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config):
    """Keep the tests' Ray clusters apart from any other Ray on this machine (a user's, or one a killed
    earlier run left behind): Ray's temp dir (where `ray start` records the current cluster) is private
    to this session, and a head that fcray starts gets its own job-server port."""
    import tempfile

    from fcray.cluster import free_port

    os.environ.setdefault("RAY_TMPDIR", tempfile.mkdtemp(prefix="fcray-ray-", dir="/tmp"))  # short: socket paths
    os.environ.setdefault("FCRAY_RAY_DASHBOARD_PORT", str(free_port()))


@pytest.fixture(scope="module")
def ray_local(request):
    """A new local Ray instance for one test module, never an existing cluster; ``num_cpus`` from the
    module's ``RAY_NUM_CPUS`` (default 4)."""
    import ray

    ray.shutdown()
    ray.init(address="local", num_cpus=getattr(request.module, "RAY_NUM_CPUS", 4), include_dashboard=False)
    yield
    ray.shutdown()


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


@pytest.fixture(scope="package")
def served(tiny_model_dir):
    """The tiny model deployed with fcray's Serve app on a private Ray head: (deployment, head, config).
    Package scope: the serving and load-test packages each get one, stopped when the package is done (an
    engine left running would slow every later test on 2 cores)."""
    import os

    from fcray.cluster import free_port, ray_head
    from fcray.config import load_config
    from fcray.serve.launch import deploy

    config = load_config("tiny", overrides=[f"serve.port={free_port()}", "serve.max_num_seqs=8",
                                            "serve.kv_cache_memory_bytes=67108864", "serve.max_model_len=1024",
                                            "serve.max_num_batched_tokens=2048"])
    saved = dict(os.environ)
    # a head of its own (its own job-server port): later tests that start a head must not find this one
    os.environ["FCRAY_RAY_DASHBOARD_PORT"] = str(free_port())
    with ray_head(num_cpus=4) as head:
        os.environ.clear()
        os.environ.update(saved)
        os.environ.update(head.env)
        try:
            deployment = deploy(config, head.address, model=str(tiny_model_dir))
            yield deployment, head, config
        finally:
            os.environ.clear()
            os.environ.update(saved)
