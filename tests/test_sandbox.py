"""fcray.sandbox: what a crafted call tries inside the sandbox has no effect outside it, and whatever the
sandboxed work does (hang, crash, eat memory, print) comes back as data or a typed error, never as a crash
of the caller. The module-level functions below are the "model output" the sandbox runs (it imports them by
name); each test also runs the same attack unconfined first, to show the attack is real."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from fcray.sandbox import (
    NOT_JSON,
    Confinement,
    RemoteError,
    SandboxCrashed,
    SandboxTimeout,
    SandboxWorker,
    importable_name,
    run_confined,
)

SECRET = "FCRAY_TEST_SECRET"


# --- what a crafted call does (run in the sandbox by name) ---------------------------------------------
def write_file(path: str) -> str:
    Path(path).write_text("pwned")
    return "written"


def read_env(name: str) -> str | None:
    return os.environ.get(name)


def connect(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return "connected"


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def die(code: int) -> None:
    os._exit(code)


def allocate(gib: int) -> int:
    return len(bytearray(gib << 30))


def shout(text: str) -> str:
    print(text * 1000)  # to stdout: must not corrupt the protocol
    return text


def not_json() -> object:
    return {1, 2}


def scratch_round_trip(text: str) -> str:
    Path("note.txt").write_text(text)  # the working directory is the scratch folder: writable
    return Path("note.txt").read_text() + "|" + os.environ["HOME"]


@pytest.fixture(scope="module")
def worker():
    worker = SandboxWorker()
    yield worker
    worker.close()


def _name(fn) -> str:
    return importable_name(fn)


def test_a_crafted_call_cannot_write_outside_the_sandbox(worker, tmp_path):
    control = tmp_path / "control"
    assert write_file(str(control)) == "written" and control.exists()  # unconfined, the attack works
    target = tmp_path / "pwned"
    with pytest.raises(RemoteError) as error:
        worker.call(_name(write_file), {"path": str(target)}, timeout_s=30)
    assert error.value.type == "PermissionError" and not target.exists()


def test_a_crafted_call_cannot_read_the_callers_secrets(worker, monkeypatch):
    monkeypatch.setenv(SECRET, "s3cr3t")
    assert read_env(SECRET) == "s3cr3t"
    fresh = SandboxWorker()  # started after the variable is set: it still must not see it
    try:
        assert fresh.call(_name(read_env), {"name": SECRET}, timeout_s=30) is None
        assert fresh.call(_name(read_env), {"name": "HOME"}, timeout_s=30).startswith(
            str(Path(os.environ.get("TMPDIR", "/tmp")).resolve()))
    finally:
        fresh.close()


def test_a_crafted_call_has_no_network(worker):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert connect(port) == "connected"
        if not worker.call(_name(read_env), {"name": "PATH"}, timeout_s=30):  # started, so report is set
            pytest.fail("the sandbox has no PATH")
        if not worker.report["network"].startswith("isolated"):
            pytest.skip(f"this kernel gives no network namespace: {worker.report['network']}")
        with pytest.raises(RemoteError) as error:
            worker.call(_name(connect), {"port": port}, timeout_s=30)
        assert error.value.type in ("OSError", "ConnectionRefusedError"), error.value


def test_the_sandbox_says_how_it_is_confined(worker):
    worker.call(_name(read_env), {"name": "PATH"}, timeout_s=30)
    assert worker.report["filesystem"].startswith("landlock ABI"), worker.report


def test_its_scratch_folder_is_writable_home_and_cwd(worker):
    text, home = worker.call(_name(scratch_round_trip), {"text": "ok"}, timeout_s=30).split("|")
    assert text == "ok" and "fcray-sandbox-" in home


@pytest.mark.parametrize("fn, kwargs, error", [
    (sleep, {"seconds": 30}, SandboxTimeout),                # killed past the limit
    (die, {"code": 3}, SandboxCrashed),                      # the process is gone
    (allocate, {"gib": 4}, RemoteError),                     # over the memory limit: MemoryError, as data
    (not_json, {}, RemoteError),                             # a result JSON cannot carry
])
def test_failures_come_back_typed_and_the_next_call_works(worker, fn, kwargs, error):
    started = time.monotonic()
    with pytest.raises(error) as raised:
        worker.call(_name(fn), kwargs, timeout_s=2)
    assert time.monotonic() - started < 20
    if fn is allocate:
        assert raised.value.type == "MemoryError"
    if fn is not_json:
        assert raised.value.type == NOT_JSON
    assert worker.call(_name(shout), {"text": "ok"}, timeout_s=30) == "ok"  # restarted if it had to be


def test_only_importable_functions_can_be_sandboxed():
    assert importable_name(write_file) == "tests.test_sandbox:write_file"
    with pytest.raises(ValueError, match="module-level function"):
        importable_name(lambda: None)


def test_a_confined_command_cannot_write_outside_and_is_killed_past_its_limit(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET, "s3cr3t")
    allowed, denied = tmp_path / "out", tmp_path / "denied"
    allowed.mkdir()
    script = ("import os, pathlib, sys\n"
              f"pathlib.Path({str(allowed / 'ok')!r}).write_text('ok')\n"
              f"print(os.environ.get({SECRET!r}))\n"
              f"pathlib.Path({str(denied)!r}).write_text('pwned')\n")
    done = run_confined([sys.executable, "-c", script], Confinement(writable=(str(allowed),)),
                        timeout_s=60, capture_output=True, text=True)
    assert (allowed / "ok").read_text() == "ok"              # the named folder is writable
    assert done.stdout.strip() == "None"                     # the secret did not reach it
    assert done.returncode != 0 and "PermissionError" in done.stderr and not denied.exists()
    with pytest.raises(SandboxTimeout):
        run_confined([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=2)
