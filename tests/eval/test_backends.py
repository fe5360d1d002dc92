"""Eval backends against the real thing: vLLM engine actors on a local Ray cluster, and a real vLLM
OpenAI-compatible server (Hermes tool parser) for the endpoint backend; plus a dead and a garbage endpoint."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import replace

import pytest

from fcray.config import EngineConfig, EvalConfig
from fcray.eval.backends import EndpointBackend, message_as_text, openai_messages
from fcray.eval.errors import EvalError
from fcray.eval.metrics import verdict
from fcray.eval.run import load_predictions, run_eval

from .conftest import EXAMPLES, tc

RAY_NUM_CPUS = 2


def test_openai_messages_carry_call_ids_and_json_arguments():
    example = {"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
        {"role": "tool", "content": "{\"temp\": 3}"},
        {"role": "user", "content": "and time?"},
        {"role": "assistant", "content": ""}]}
    messages = openai_messages(example)
    assert len(messages) == 4  # the reference turn is not sent
    call = messages[1]["tool_calls"][0]
    assert call["function"]["arguments"] == "{\"city\": \"Oslo\"}"
    assert messages[2]["tool_call_id"] == call["id"]


@pytest.mark.parametrize("message,text", [
    ({"content": "Hello"}, "Hello"),
    ({"content": None, "tool_calls": [{"function": {"name": "f", "arguments": "{\"a\": 1}"}}]}, tc("f", {"a": 1})),
    ({"content": "ok", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}, "ok\n" + tc("f", {})),
])
def test_response_messages_become_hermes_text(message, text):
    assert message_as_text(message) == text


def test_a_dead_endpoint_is_named():
    config = EvalConfig(backend="endpoint", endpoint="http://127.0.0.1:9/v1", request_timeout_s=5)
    with pytest.raises(EvalError, match="cannot reach the endpoint http://127.0.0.1:9/v1"):
        EndpointBackend("m", config)


@pytest.fixture()
def garbage_endpoint():
    class Garbage(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            body = b'{"object": "list", "data": [{"id": "m", "object": "model"}]}' if self.path.endswith("/models") \
                else b"<html>certainly not a completion</html>"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_a_garbage_answer_stops_the_run_and_keeps_what_was_written(tmp_path, garbage_endpoint):
    config = EvalConfig(backend="endpoint", endpoint=garbage_endpoint, request_timeout_s=5, bootstrap_samples=100)
    with pytest.raises(EvalError, match="failed on example|without choices|with garbage"):
        run_eval("m", EXAMPLES, config, tmp_path / "eval")
    assert (tmp_path / "eval" / "eval_run.json").exists()


@pytest.fixture(scope="module")
def served(tiny_model_dir):
    from fcray.eval.vllm_server import ServerSpec, vllm_server

    with vllm_server(ServerSpec(model=str(tiny_model_dir), served_name="fcray-tiny", max_model_len=1024,
                                kv_cache_memory_bytes=64 << 20)) as url:
        yield url


@pytest.mark.slow
def test_endpoint_backend_scores_a_served_model(served, tmp_path, synthetic_examples):
    config = EvalConfig(backend="endpoint", endpoint=served, max_new_tokens=8, concurrency=4, bootstrap_samples=100)
    with pytest.raises(EvalError, match="does not serve 'other'.*fcray-tiny"):
        EndpointBackend("other", config)
    too_long = dict(synthetic_examples[0], id="too-long")
    too_long["messages"] = [{"role": "user", "content": "weather " * 2000}, {"role": "assistant", "content": ""}]
    examples = synthetic_examples[:5] + [too_long]
    results = run_eval("fcray-tiny", examples, config, tmp_path / "eval")
    rows = {r["id"]: r for r in load_predictions(tmp_path / "eval")}
    assert len(rows) == 6 and results["errors"] == 1
    assert rows["too-long"]["error"].startswith("HTTP 400")  # recorded; the run went on
    assert all(r["response"]["role"] == "assistant" for i, r in rows.items() if i != "too-long")


@pytest.mark.slow
def test_the_servers_parsed_tool_calls_are_scored(served):
    """A forced Hermes call (structured outputs) goes through vLLM's hermes parser and back to the judge."""
    import openai

    example = EXAMPLES[0]  # get_weather(city=Oslo)
    client = openai.OpenAI(base_url=served, api_key="EMPTY")
    forced = tc("get_weather", {"city": "Oslo", "unit": "c"}).replace("{", r"\{").replace("}", r"\}")
    response = client.chat.completions.create(
        model="fcray-tiny", messages=openai_messages(example), tools=example["tools"], max_tokens=64, temperature=0,
        extra_body={"structured_outputs": {"regex": forced}})
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    text = message_as_text(choice.message.model_dump(exclude_none=True))
    assert verdict(text, example)["match"] == 1.0


@pytest.mark.slow
def test_vllm_backend_on_engine_actors(ray_local, tmp_path, tiny_model_dir, synthetic_examples):
    config = EvalConfig(backend="vllm", num_engines=2, max_new_tokens=16, batch_size=4, bootstrap_samples=100,
                        engine=EngineConfig(max_model_len=1024, kv_cache_memory_bytes=32 << 20))
    too_long = dict(synthetic_examples[0], id="too-long")
    too_long["messages"] = [{"role": "user", "content": "weather " * 2000}, {"role": "assistant", "content": ""}]
    results = run_eval(str(tiny_model_dir), synthetic_examples[:7] + [too_long], config, tmp_path / "eval")
    rows = {r["id"]: r for r in load_predictions(tmp_path / "eval")}
    assert len(rows) == 8 and results["errors"] == 1 and "exceeds eval.engine.max_model_len" in rows["too-long"]["error"]
    assert all(r["finish_reason"] in ("stop", "length") for i, r in rows.items() if i != "too-long")
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["backend"] == "vllm"


@pytest.mark.parametrize("fault, message", [
    ("http_500", "failed on example"),
    ("reset", "lost the endpoint"),
    ("garbage", "with garbage"),
])
def test_an_endpoint_that_keeps_failing_stops_the_run_which_resumes_where_it_stopped(tmp_path, fault, message):
    """The third request on fails persistently (the client's own retries included): the run stops with an
    error naming the example, keeps the batch written before it, and a rerun against a healthy server
    generates only what is missing."""
    from tests.fault_server import OK, FaultServer

    config = EvalConfig(backend="endpoint", endpoint="http://unset/v1", request_timeout_s=5, bootstrap_samples=100,
                        batch_size=2, concurrency=1)
    out = tmp_path / "eval"
    with FaultServer(plan=[OK, OK] + [fault] * 50) as failing:
        with pytest.raises(EvalError, match=message):
            run_eval(failing.model, EXAMPLES, replace(config, endpoint=failing.url), out)
    assert len(load_predictions(out)) == 2  # the first batch; nothing half-written
    with FaultServer() as healthy:
        results = run_eval(healthy.model, EXAMPLES, replace(config, endpoint=healthy.url), out)
        regenerated = [s for s in healthy.served if not s[0]]
    assert len(regenerated) == len(EXAMPLES) - 2 and results["examples"] == len(EXAMPLES)
    assert sorted(p["id"] for p in load_predictions(out)) == sorted(e["id"] for e in EXAMPLES)


def test_a_transient_endpoint_fault_is_retried_and_costs_nothing(tmp_path):
    from tests.fault_server import HTTP_500, OK, RESET, FaultServer

    config = EvalConfig(backend="endpoint", endpoint="http://unset/v1", request_timeout_s=5, bootstrap_samples=100,
                        concurrency=1)
    with FaultServer(plan=[OK, HTTP_500, OK, RESET] + [OK] * 50) as server:
        results = run_eval(server.model, EXAMPLES, replace(config, endpoint=server.url), tmp_path / "eval")
    assert results["examples"] == len(EXAMPLES) and all(not p.get("error") for p in load_predictions(tmp_path / "eval"))
