"""One Serve deployment of the tiny model for the serve tests: a private Ray head, fcray's generated serve
config deployed through Serve's REST API (what `fcray serve` and `serve deploy` do)."""

from __future__ import annotations

import pytest

from fcray.cluster import free_port


@pytest.fixture(scope="session")
def served(tiny_model_dir):
    import os

    from fcray.cluster import ray_head
    from fcray.config import load_config
    from fcray.serve.launch import deploy

    config = load_config("tiny", overrides=[f"serve.port={free_port()}", "serve.max_num_seqs=8",
                                            "serve.kv_cache_memory_bytes=67108864", "serve.max_model_len=1024",
                                            "serve.max_num_batched_tokens=2048"])
    with ray_head(num_cpus=4) as head:
        saved = dict(os.environ)
        os.environ.update(head.env)
        try:
            deployment = deploy(config, head.address, model=str(tiny_model_dir))
            yield deployment, head, config
        finally:
            os.environ.clear()
            os.environ.update(saved)
