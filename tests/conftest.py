"""Shared fixtures. The tiny model is built once per test session (into a session cache folder); a Serve
deployment of it (``served``) is shared within the serving and the load-test packages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


# Where a program may keep state between runs: each points into this run's own folder, so no test can pass
# (or fail) because of files another run, or the developer, left on the machine.
_STATE_DIRS = {
    "HOME": "home",                      # ~/.ray/auth_token, ~/.cache, ~/.config, ...
    "XDG_CACHE_HOME": "home/.cache",
    "XDG_CONFIG_HOME": "home/.config",
    "HF_HOME": "home/.cache/huggingface",  # model and dataset cache (nothing is downloaded: offline below)
    "TORCHINDUCTOR_CACHE_DIR": "home/.cache/torchinductor",
    "TRITON_CACHE_DIR": "home/.cache/triton",
    "VLLM_CACHE_ROOT": "home/.cache/vllm",
    "MPLCONFIGDIR": "home/.config/matplotlib",
    "RAY_TMPDIR": "ray",                 # Ray's sessions and `ray_current_cluster`, and fcray's head records
}
# Settings from the developer's shell that would point the suite at another cluster or another token.
_FOREIGN = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "FCRAY_CACHE",
            "FCRAY_RAY_DASHBOARD_PORT")


def pytest_configure(config):
    """Make the run hermetic: an empty home, caches and Ray temp dir of its own (a short path under /tmp:
    Ray's socket paths must stay short), no cluster address or token from the caller's shell, the Hub
    offline, and a job-server port of its own for the heads fcray starts. ``FCRAY_TEST_CACHE`` (a folder
    with a built tiny model) is the one thing a developer may bring in, to skip rebuilding it."""
    import shutil
    import tempfile

    from fcray.cluster import free_port

    root = Path(tempfile.mkdtemp(prefix="fcray-test-", dir="/tmp"))
    for name, sub in _STATE_DIRS.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(root / sub)
    for name in _FOREIGN:
        os.environ.pop(name, None)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["FCRAY_RAY_DASHBOARD_PORT"] = str(free_port())
    config._fcray_test_root = root
    config.add_cleanup(lambda: shutil.rmtree(root, ignore_errors=True))


@pytest.fixture(scope="module")
def ray_local(request):
    """A new local Ray instance for one test module, never an existing cluster; ``num_cpus`` from the
    module's ``RAY_NUM_CPUS`` (default 4), the dashboard (Ray's state API) only where the module sets
    ``RAY_DASHBOARD = True``."""
    import ray

    ray.shutdown()
    ray.init(address="local", num_cpus=getattr(request.module, "RAY_NUM_CPUS", 4),
             include_dashboard=getattr(request.module, "RAY_DASHBOARD", False))
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
    Package scope of this folder: one deployment for the load-test and serving tests (the first of them
    starts it), stopped after the last test (an engine left running would slow every later test on 2 cores)."""
    import os

    from fcray.cluster import free_port, ray_head, use_head
    from fcray.config import load_config
    from fcray.serve.launch import deploy

    config = load_config("tiny", overrides=[f"serve.port={free_port()}", "serve.engine.max_num_seqs=8",
                                            "serve.engine.kv_cache_memory_bytes=67108864", "serve.engine.max_model_len=1024",
                                            "serve.engine.max_num_batched_tokens=2048"])
    saved = dict(os.environ)
    # a head of its own (its own job-server port): later tests that start a head must not find this one
    os.environ["FCRAY_RAY_DASHBOARD_PORT"] = str(free_port())
    with ray_head(num_cpus=4) as head:
        os.environ.clear()
        os.environ.update(saved)
        use_head(head)
        try:
            deployment = deploy(config, head.address, model=str(tiny_model_dir))
            yield deployment, head, config
        finally:
            os.environ.clear()
            os.environ.update(saved)
