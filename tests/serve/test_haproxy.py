"""fcray's app behind Ray Serve's HAProxy ingress (``RAY_SERVE_ENABLE_HA_PROXY=1`` in the head's environment,
a ``haproxy`` binary on PATH): the option that cut the proxy's share of a request's time in
docs/results/2026-12-07-serve-overhead.md. The key's 401, a request limit's 413 and a streamed chat with
the key behave as behind Serve's Python proxy, and HAProxy really is the process answering."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.serve.test_app import QUESTION
from tests.serve.test_auth_app import _request

pytestmark = pytest.mark.slow

KEY = "k-haproxy-31d7"


@pytest.fixture(scope="module")
def behind_haproxy(tiny_model_dir, tmp_path_factory):
    from fcray.cluster import free_port, ray_head, use_head
    from fcray.config import load_config
    from fcray.serve.launch import deploy

    assert shutil.which("haproxy"), "haproxy is not installed: `bash .ci/setup` installs Debian's package"
    key_file = tmp_path_factory.mktemp("secrets") / "api_key"
    key_file.write_text(KEY + "\n")
    config = load_config("tiny", overrides=[
        f"serve.port={free_port()}", f"serve.api_key=file:{key_file}", "serve.max_request_bytes=20000",
        "serve.engine.kv_cache_memory_bytes=67108864", "serve.engine.max_model_len=1024"])
    saved = dict(os.environ)
    # a head of its own: Serve's controller reads the switch from the environment it starts in
    os.environ.update({"FCRAY_RAY_DASHBOARD_PORT": str(free_port()), "RAY_SERVE_ENABLE_HA_PROXY": "1"})
    try:
        with ray_head(num_cpus=4) as head:
            os.environ.clear()
            os.environ.update(saved)
            use_head(head)
            yield deploy(config, head.address, model=str(tiny_model_dir))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_haproxy_answers_on_the_serve_port(behind_haproxy):
    import psutil

    port = int(behind_haproxy.url.rsplit(":", 1)[1].split("/")[0])
    listeners = {c.pid for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    assert listeners and all(psutil.Process(pid).name() == "haproxy" for pid in listeners), listeners


@pytest.mark.parametrize("case, body, headers, status, error_type", [
    ("no key", {"max_tokens": 4, "messages": QUESTION}, {}, 401, "AuthenticationError"),
    ("body over serve.max_request_bytes", {"max_tokens": 4, "messages": [{"role": "user", "content": "x" * 30_000}]},
     {"Authorization": f"Bearer {KEY}"}, 413, "BadRequestError"),
])
def test_fcrays_ingress_errors_pass_through_haproxy(behind_haproxy, case, body, headers, status, error_type):
    got, answer = _request(f"{behind_haproxy.url}/chat/completions", {"model": behind_haproxy.model_id, **body}, headers)
    assert got == status and answer["error"]["type"] == error_type, (case, got, answer)


def test_a_streamed_chat_with_the_key(behind_haproxy):
    import openai

    client = openai.OpenAI(base_url=behind_haproxy.url, api_key=KEY, max_retries=0, timeout=120)
    chunks = list(client.chat.completions.create(model=behind_haproxy.model_id, messages=QUESTION, max_tokens=8,
                                                 stream=True, stream_options={"include_usage": True}))
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes in (["stop"], ["length"]), chunks[-3:]
    assert chunks[-1].usage is not None and 1 <= chunks[-1].usage.completion_tokens <= 8, chunks[-1]
