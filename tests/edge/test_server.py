"""llama.cpp's server on a GGUF file, through the openai SDK and fcray's own eval (the endpoint backend)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from fcray.edge.server import EdgeServerError, LlamaServer
from tests.edge.conftest import OSLO_CALL, QUESTION, WEATHER

EDGE = SimpleNamespace(host="127.0.0.1", port=0, threads=1, ctx_size=2048, parallel=1)


@pytest.fixture(scope="module")
def calling_server(calling_export):
    with LlamaServer(calling_export["files"]["q8_0"]["path"], EDGE, "fcray-edge") as server:
        yield server


@pytest.fixture(scope="module")
def client(calling_server):
    import openai

    return openai.OpenAI(base_url=calling_server.url, api_key="EMPTY", max_retries=0, timeout=60)


def test_the_server_lists_its_model_and_binds_loopback(calling_server):
    assert [m["id"] for m in calling_server.get("/v1/models")["data"]] == ["fcray-edge"]
    assert calling_server.url.startswith("http://127.0.0.1:") and calling_server.load_seconds < 60
    assert calling_server.peak_rss_bytes() > 1 << 20


def test_a_call_comes_back_as_openai_tool_calls_without_think_tags(client):
    response = client.chat.completions.create(model="fcray-edge", messages=QUESTION, tools=[WEATHER],
                                              max_tokens=48, temperature=0)
    message = response.choices[0].message
    (call,) = message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Oslo"}
    assert "<think>" not in (message.content or "") and "<tool_call>" not in (message.content or "")
    assert response.choices[0].finish_reason == "tool_calls"


def test_streaming_assembles_the_same_call(client):
    name, arguments = "", ""
    for chunk in client.chat.completions.create(model="fcray-edge", messages=QUESTION, tools=[WEATHER],
                                                max_tokens=48, temperature=0, stream=True):
        for call in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            name += call.function.name or ""
            arguments += call.function.arguments or ""
    assert name == "get_weather" and json.loads(arguments) == {"city": "Oslo"}


def test_fcray_eval_scores_the_gguf_through_the_endpoint_backend(calling_server, tmp_path):
    from fcray.config import EvalConfig
    from fcray.eval.run import run_eval

    example = {"id": "oslo", "source": "test", "category": "single", "tools": [WEATHER],
               "messages": [*QUESTION, {"role": "assistant", "content": "", "tool_calls": [OSLO_CALL]}],
               "ground_truth": {"kind": "call", "calls": [{"name": "get_weather", "arguments": {"city": ["Oslo"]}}]}}
    config = EvalConfig(backend="endpoint", endpoint=calling_server.url, max_new_tokens=48, bootstrap_samples=100)
    results = run_eval("fcray-edge", [example], config, tmp_path)
    metrics = results["metrics"]
    assert metrics["parse_rate"]["mean"] == 1.0 and metrics["exact_match"]["mean"] == 1.0


def test_a_missing_or_broken_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="fcray export gguf"):
        LlamaServer(tmp_path / "none.gguf", EDGE, "x")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(EdgeServerError, match="exited .* while loading"):
        LlamaServer(broken, EDGE, "x", start_timeout_s=60).start()


def test_the_server_does_not_outlive_a_killed_parent(exported, tmp_path):
    script = (f"from types import SimpleNamespace\nfrom fcray.edge.server import LlamaServer\nimport time\n"
              f"s = LlamaServer({exported['files']['q4_k_m']['path']!r}, SimpleNamespace(host='127.0.0.1', port=0, "
              f"threads=1, ctx_size=1024, parallel=1), 'x').start()\nprint(s.process.pid, flush=True)\ntime.sleep(300)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and os.path.exists(f"/proc/{child}") and "Z" not in _state(child):
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{child}") or "Z" in _state(child), "llama.cpp's server outlived its parent"


def _state(pid: int) -> str:
    try:
        return next(line for line in open(f"/proc/{pid}/status") if line.startswith("State:"))
    except OSError:
        return "Z"
