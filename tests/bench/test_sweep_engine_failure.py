"""Reading a failed trial's engine reason from its replica log (fcray.bench.sweep.engine_start_failure),
with Ray's state API replaced by the answers it gives: no Ray here, so these run in the quick tier."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

REASON = ("ValueError: To serve at least one request with the model's max seq len (1024), (0.03 GiB KV cache is "
          "needed, which is larger than the available KV cache memory (0.00 GiB).")


GCS = "127.0.0.1:6100"  # the cluster this process is connected to


@pytest.fixture(autouse=True)
def connected(monkeypatch):
    """A Ray driver connected to the cluster at GCS (another head may run on the machine too)."""
    import ray

    monkeypatch.setattr(ray, "get_runtime_context", lambda: SimpleNamespace(gcs_address=GCS))


def _replicas_of_sweep_x(filters, address=None, **_):
    """Ray's list_actors as it answers for app sweep-x on the connected cluster: its LLM replica, found by the
    deployment class's name. Asked without the address, the state API would ask the cluster `ray start` last
    recorded on the machine: no such replica there."""
    replica = ("class_name", "=", "ServeReplica:sweep-x:FcrayLLMServer:sweep-x")
    return [SimpleNamespace(actor_id="a1")] if filters == [replica] and address == GCS else []


def _log_bytes() -> bytes:
    return ("Loading weights █████ 100%\n"
            f"(EngineCore pid=7) ERROR [core.py:1510] {REASON}\n"
            "RuntimeError: Engine core initialization failed. See root cause above.\n").encode()


@pytest.mark.parametrize("cut", [
    pytest.param(lambda raw: [raw], id="one chunk"),
    pytest.param(lambda raw: [raw[:raw.index("█".encode()) + 1], raw[raw.index("█".encode()) + 1:]],
                 id="a chunk ends inside a multi-byte character"),
    pytest.param(lambda raw: [raw[:raw.index(b"To serve")], raw[raw.index(b"To serve"):]],
                 id="a chunk ends inside the error line"),
])
def test_the_engine_reason_survives_how_the_log_is_chunked(monkeypatch, cut):
    import ray.util.state as state

    from fcray.bench.sweep import engine_start_failure

    monkeypatch.setattr(state, "list_actors", _replicas_of_sweep_x)
    monkeypatch.setattr(state, "get_log", lambda suffix, encoding, address, **_: iter(
        cut(_log_bytes()) if suffix == "err" and address == GCS else []))
    reason = engine_start_failure("sweep-x", wait_s=0)
    assert reason == f"engine: {REASON} | RuntimeError: Engine core initialization failed. See root cause above."


def test_the_reason_is_asked_for_again_until_the_state_api_has_it(monkeypatch):
    """Serve can report the app failed before the state API answers (or has the replica's last lines)."""
    import ray.util.state as state

    from fcray.bench.sweep import engine_start_failure

    answers = iter([ConnectionError("dashboard not up"), [], None])

    def list_actors(**kwargs):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return _replicas_of_sweep_x(**kwargs) if answer is None else answer

    monkeypatch.setattr(state, "list_actors", list_actors)
    monkeypatch.setattr(state, "get_log", lambda suffix, encoding, **_: iter([_log_bytes()] if suffix == "err" else []))
    monkeypatch.setattr("fcray.readiness.time.sleep", lambda _: None)
    assert engine_start_failure("sweep-x", wait_s=60).startswith(f"engine: {REASON}")


def test_no_reason_when_no_replica_logged_an_error(monkeypatch):
    import ray.util.state as state

    from fcray.bench.sweep import engine_start_failure

    monkeypatch.setattr(state, "list_actors", lambda **_: [])
    assert engine_start_failure("sweep-x", wait_s=0) is None
