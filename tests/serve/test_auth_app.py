"""The served tiny model behind a key and request limits (``serve.api_key``, ``serve.max_*``), through the
official openai SDK and fcray's own clients; and the shared test server's binding to loopback.

The module redeploys the shared test head with a key (a ``file:`` reference, read by the ingress on its
node) and small limits, and puts the shared config back afterwards."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from tests.serve.conftest import redeployed
from tests.serve.test_app import QUESTION, TIME, WEATHER

pytestmark = pytest.mark.slow

KEY = "k-test-5b0c9e"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("secrets") / "api_key"
    path.write_text(KEY + "\n")
    return path


@pytest.fixture(scope="module")
def keyed(served, tiny_model_dir, key_file):
    import dataclasses

    serve = dataclasses.replace(served[2].serve, api_key=f"file:{key_file}", max_tools=3, max_output_tokens=64,
                                max_request_bytes=20_000)
    with redeployed(served, str(tiny_model_dir), serve=serve) as deployment:
        yield deployment


def _client(deployment, key):
    import openai

    return openai.OpenAI(base_url=deployment.url, api_key=key, max_retries=0, timeout=120)


def _request(url, body: dict | None = None, headers: dict | None = None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"},
                                     {"Authorization": "Bearer"}])
@pytest.mark.parametrize("endpoint", ["models", "chat/completions", "completions"])
def test_without_the_key_every_endpoint_answers_401_in_the_openai_shape(keyed, headers, endpoint):
    body = None if endpoint == "models" else {"model": keyed.model_id, "max_tokens": 4,
                                              **({"messages": QUESTION} if endpoint.startswith("chat") else
                                                 {"prompt": "hi"})}
    status, payload = _request(f"{keyed.url}/{endpoint}", body, headers)
    assert status == 401, (endpoint, headers, status, payload)
    assert payload["error"]["type"] == "AuthenticationError" and "Bearer" in payload["error"]["message"]


def test_the_openai_sdk_with_the_key_is_served_streaming_and_not(keyed):
    import openai

    with pytest.raises(openai.AuthenticationError):
        _client(keyed, "EMPTY").models.list()
    client = _client(keyed, KEY)
    assert [m.id for m in client.models.list().data] == [keyed.model_id]
    reply = client.chat.completions.create(model=keyed.model_id, messages=QUESTION, tools=[WEATHER], max_tokens=8)
    assert reply.choices[0].finish_reason in ("stop", "length", "tool_calls")
    chunks = list(client.chat.completions.create(model=keyed.model_id, messages=QUESTION, max_tokens=8, stream=True))
    assert chunks and chunks[-1].choices[-1].finish_reason in ("stop", "length")


def test_fcrays_clients_read_the_key_from_where_the_config_points(keyed, key_file, tmp_path, monkeypatch):
    """The eval's endpoint backend (eval.api_key), the load generator (serve.api_key's key) and the deployer's
    readiness check (it waited on /models with the key: ``keyed`` is up) all authenticate."""
    from fcray.bench.loadgen import run_matrix
    from fcray.config import BenchConfig, EvalConfig
    from fcray.credentials import client_api_key
    from fcray.eval.backends import EndpointBackend

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = EndpointBackend(keyed.model_id, EvalConfig(backend="endpoint", endpoint=keyed.url,
                                                         api_key=f"file:{key_file}", max_new_tokens=8))
    backend.close()
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # the other way a client finds it
    EndpointBackend(keyed.model_id, EvalConfig(backend="endpoint", endpoint=keyed.url, max_new_tokens=8)).close()
    bench = BenchConfig(concurrency=[1], prompt_lengths=[32], requests_per_cell=2, max_seconds_per_cell=60,
                        warmup_requests=1, max_tokens=8)
    monkeypatch.delenv("OPENAI_API_KEY")
    (row,) = run_matrix(keyed.url, keyed.model_id, bench, tmp_path / "results.json",
                        api_key=client_api_key(f"file:{key_file}", "serve.api_key"))
    assert row["errors"] == 0 and row["requests"] == 2


@pytest.mark.parametrize("case, body, status, message", [
    ("too many tools", {"messages": QUESTION, "tools": [WEATHER, TIME, WEATHER, TIME]}, 400, "at most 3 (serve.max_tools)"),
    ("max_tokens over the ceiling", {"messages": QUESTION, "max_tokens": 65}, 400, "limit of 64 (serve.max_output_tokens)"),
    ("max_completion_tokens too", {"messages": QUESTION, "max_completion_tokens": 1000}, 400, "serve.max_output_tokens"),
    ("a body over the size limit", {"messages": [{"role": "user", "content": "x" * 30_000}]}, 413,
     "serve.max_request_bytes"),
])
def test_requests_over_the_limits_get_a_4xx_before_the_engine(keyed, case, body, status, message):
    headers = {"Authorization": f"Bearer {KEY}"}
    got, payload = _request(f"{keyed.url}/chat/completions", {"model": keyed.model_id, "max_tokens": 4, **body},
                            headers)
    assert got == status and message in payload["error"]["message"], (case, got, payload)
    ok, _ = _request(f"{keyed.url}/chat/completions", {"model": keyed.model_id, "messages": QUESTION, "max_tokens": 4},
                     headers)
    assert ok == 200, f"the server stopped serving after: {case}"


def _outside_address() -> str | None:
    """This machine's address on its default route (no packet is sent), or None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_fcray_serve_listens_on_loopback_only_by_default(served):
    deployment, _, config = served
    assert config.serve.host == "127.0.0.1"
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to try")
    with pytest.raises(OSError):
        socket.create_connection((address, config.serve.port), timeout=5).close()
    socket.create_connection(("127.0.0.1", config.serve.port), timeout=5).close()
