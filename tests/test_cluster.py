from __future__ import annotations

import json
import socket

import pytest

from fcray import cluster


@pytest.fixture()
def current_cluster_file(monkeypatch, tmp_path):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))  # where Ray (and so fcray) looks for the current cluster
    path = tmp_path / "ray" / "ray_current_cluster"
    path.parent.mkdir()
    return path


def test_ray_address_env_wins(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "http://10.0.0.1:8265")
    assert cluster.init_address() == "http://10.0.0.1:8265"


def test_stale_cluster_file_starts_a_new_local_instance(current_cluster_file):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    current_cluster_file.write_text(f"127.0.0.1:{port}")
    assert cluster.init_address() == "local"
    current_cluster_file.unlink()
    assert cluster.init_address() == "local"


def test_live_local_cluster_is_reused(current_cluster_file):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        current_cluster_file.write_text(f"127.0.0.1:{server.getsockname()[1]}")
        assert cluster.init_address() == "auto"


def test_a_head_that_asks_for_a_token_gets_token_auth_clients(monkeypatch):
    import http.server
    import threading

    class Guarded(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(401)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Guarded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
        assert cluster._client_env(address) == {"RAY_AUTH_MODE": "token"}
        monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the caller's own choice wins
        assert cluster._client_env(address) == {}
    finally:
        server.shutdown()


# --- a fresh machine: no ~/.ray, no token, nothing from earlier runs ---------------------------------------

FRESH_MACHINE_SCRIPT = r'''
import json, os, sys, urllib.request
from fcray.cluster import ray_head, submit_job
job = [sys.executable, "-c", "import ray; ray.init(); print('FRESH_JOB_CPUS', ray.cluster_resources()['CPU'])"]
failing = [sys.executable, "-c", "import sys; sys.exit(3)"]
with ray_head(num_cpus=1) as head:
    code = submit_job(head, job, sys.argv[1])
    lines = []
    failed = submit_job(head, failing, sys.argv[1], on_line=lines.append)
    print("FRESH_RESULT", json.dumps({"code": code, "address": head.address, "failed": failed,
                                      "last": lines[-1]}))
'''


_SHORT_DIRS: list[str] = []


def _short_dir(prefix: str) -> str:
    """A folder under /tmp with a short path: Ray's socket paths under RAY_TMPDIR must stay within 107 bytes
    (pytest's tmp_path is too long). Removed after the test (fixture below)."""
    import tempfile

    _SHORT_DIRS.append(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    return _SHORT_DIRS[-1]


@pytest.fixture(autouse=True)
def _remove_short_dirs():
    import shutil

    yield
    while _SHORT_DIRS:
        shutil.rmtree(_SHORT_DIRS.pop(), ignore_errors=True)


def _fresh_env(tmp_path, port: int) -> dict[str, str]:
    import os

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home), RAY_TMPDIR=_short_dir("fcray-fresh-"), FCRAY_RAY_DASHBOARD_PORT=str(port))
    return env


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_head_starts_and_takes_a_job_on_a_fresh_machine(tmp_path):
    """From an empty home (no ~/.ray/auth_token, which Ray 2.60's `ray start --head` needs but never makes),
    fcray's own head start creates the token, a job submitted through it runs, the token is never printed,
    and leaving the context stops exactly the head it started: another Ray head on the machine lives on."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    port, other_port = cluster.free_port(), cluster.free_port()
    env = _fresh_env(tmp_path, port)
    # Somebody else's head on the same machine (its own temp dir, no auth): it must survive ours.
    other_tmp = _short_dir("fcray-other-")
    other = subprocess.Popen(cluster._head_command(other_port, 1, block=True), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env={**env, "RAY_TMPDIR": other_tmp,
                                                             "RAY_AUTH_MODE": "disabled"})
    try:
        cluster._wait_for_dashboard(f"http://127.0.0.1:{other_port}")
        (tmp_path / "job").mkdir()  # the job's working dir
        done = subprocess.run([sys.executable, "-c", FRESH_MACHINE_SCRIPT, str(tmp_path / "job")], env=env,
                              capture_output=True, text=True, timeout=240, cwd=repo)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-3000:]
        assert "FRESH_JOB_CPUS 1.0" in output, output[-3000:]
        assert '"code": 0' in output
        assert '"failed": 3' in output and "failed: Job entrypoint command failed with exit code 3" in output
        assert "_ray_pkg_" in done.stdout and "_ray_pkg_" not in done.stderr  # the client's lines go with the job's
        token = tmp_path / "home" / ".ray" / "auth_token"
        assert token.is_file() and oct(token.stat().st_mode & 0o777) == "0o600"
        assert token.read_text().strip() not in output  # created, used, never printed
        assert not cluster._dashboard_up(f"http://127.0.0.1:{port}")  # ours is gone
        assert cluster._dashboard_up(f"http://127.0.0.1:{other_port}")  # theirs is not
    finally:
        other.terminate()
        other.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_lasting_head_is_stopped_by_its_process_id(tmp_path, monkeypatch):
    """`fcray serve` starts a head that outlives the command; `fcray serve --stop` stops that head by the
    process id fcray recorded (never `ray stop`) and says so; a head fcray did not start is left alone."""
    import os

    from fcray.cli import main

    port = cluster.free_port()
    for name, value in _fresh_env(tmp_path, port).items():
        monkeypatch.setenv(name, value)
    for name in [n for n in os.environ if n.startswith("RAY_") and n != "RAY_TMPDIR"]:
        monkeypatch.delenv(name)
    head = cluster.ensure_head(num_cpus=1)
    assert head.address == f"http://127.0.0.1:{port}" and head.env == {"RAY_AUTH_MODE": "token"}
    assert cluster.ensure_head(num_cpus=1).address == head.address  # found again, not started twice
    record = json.loads(cluster._head_record(port).read_text())
    assert cluster._is_our_head(record["pid"])
    assert main(["serve", "--stop"]) == 0
    assert not cluster._dashboard_up(head.address) and not cluster._is_our_head(record["pid"])
    assert not cluster._head_record(port).exists()
    assert cluster.stop_started_head(head.address) is None  # nothing of ours left to stop


@pytest.mark.parametrize("token_path_env", [False, True])
def test_a_missing_token_is_created_where_ray_looks_owner_only_and_an_existing_one_is_kept(
        tmp_path, monkeypatch, token_path_env):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    expected = tmp_path / "secrets" / "ray-token" if token_path_env else tmp_path / "home" / ".ray" / "auth_token"
    if token_path_env:
        monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(expected))
    else:
        monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    assert cluster.auth_token_path() == expected
    assert cluster.ensure_auth_token() == expected
    token = expected.read_text()
    assert len(token) == 64 and oct(expected.stat().st_mode & 0o777) == "0o600"
    assert cluster.ensure_auth_token() is None and expected.read_text() == token  # kept, not replaced
    monkeypatch.setenv("RAY_AUTH_TOKEN", "given")
    expected.unlink()
    assert cluster.ensure_auth_token() is None and not expected.exists()  # the caller's token env wins


@pytest.mark.parametrize("log, hint", [
    ("ray.exceptions.AuthenticationError: Token authentication is enabled but no authentication token was found",
     "ray get-auth-token --generate"),
    ("OSError: [Errno 98] Address already in use", "FCRAY_RAY_DASHBOARD_PORT"),
])
def test_a_failed_head_start_says_why_and_what_to_do(log, hint):
    assert hint in cluster._start_failure(1, log) and log in cluster._start_failure(1, log)


def test_a_non_ray_server_on_the_dashboard_port_is_not_taken_for_a_head():
    import http.server
    import threading

    class Other(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not ray</html>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Other)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert not cluster._dashboard_up(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()


def test_a_binary_server_on_the_dashboard_port_is_not_taken_for_a_head():
    """A port held by a non-HTTP server (a gRPC port of another Ray process answers in binary) is no head:
    the check says so instead of raising BadStatusLine (seen in a fresh-clone run, 2026-12-03)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer_in_binary():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(1024)
            conn.sendall(b"\x00\x00\x18\x04\x00\x00\x00\x00\x00@@@\xfe\x03\r\n\r\n")
            conn.close()

    threading.Thread(target=answer_in_binary, daemon=True).start()
    try:
        assert not cluster._dashboard_up(f"http://127.0.0.1:{listener.getsockname()[1]}")
    finally:
        listener.close()


# --- the head dies during a submitted job ------------------------------------------------------------------

HEAD_LOST_SCRIPT = r'''
import json, sys, threading, time
from pathlib import Path

import psutil

from fcray.cluster import HeadLost, ray_head, submit_job

repo, workdir, port = sys.argv[1], sys.argv[2], sys.argv[3]
job = [sys.executable, "-m", "jobs.sft", "--preset", "tiny", "--run-name", "sft-headlost",
       "--set", f"workdir={workdir}", "--set", "data.num_examples=160", "--set", "sft.per_device_train_batch_size=2",
       "--set", "sft.logging_steps=1", "--set", "sft.save_steps=2", "--set", "sft.max_steps=10",
       "--set", "sft.ray_train.num_workers=1"]
metrics = Path(workdir) / "runs" / "sft-headlost" / "metrics.jsonl"

def steps():
    lines = metrics.read_text().splitlines() if metrics.exists() else []
    return [r["step"] for r in map(json.loads, lines) if r["kind"] == "step"]

out = {}
with ray_head(num_cpus=2) as head:
    def submit():
        try:
            out["code"] = submit_job(head, job, repo, on_line=lambda line: None)
        except HeadLost as error:
            out["lost"] = str(error)
        except Exception as error:
            out["other"] = f"{type(error).__name__}: {error}"
    waiter = threading.Thread(target=submit)
    waiter.start()
    deadline = time.time() + 400
    while time.time() < deadline and len(steps()) < 5:  # a checkpoint (step 2 or 4) exists
        time.sleep(0.5)
    out["killed_at"] = steps()[-1] if steps() else None
    # the head: this port's `ray start --head --block` and every process under it (GCS, raylet, workers)
    (started,) = [p for p in psutil.process_iter(["cmdline"]) if "--block" in (p.info["cmdline"] or [])
                  and f"--dashboard-port={port}" in (p.info["cmdline"] or [])]
    for process in [started, *started.children(recursive=True)]:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    killed = time.time()
    waiter.join(timeout=240)
    out["seconds_to_error"] = time.time() - killed if not waiter.is_alive() else None
with ray_head(num_cpus=2) as head:  # a new head; the same command again
    out["resumed_code"] = submit_job(head, job, repo, on_line=lambda line: None)
out["steps"] = steps()
print("HEAD_LOST_RESULT", json.dumps(out))
'''


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_head_killed_during_a_job_gives_a_clear_error_and_the_resubmitted_job_resumes(tmp_path):
    """The head (GCS, raylet, workers: every process of its `ray start`) is SIGKILLed once the SFT job has a
    checkpoint: the submitter gets HeadLost, saying what to do, within bounded time; the same command on a new
    head resumes from the checkpoint and finishes."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    port = cluster.free_port()
    env = _fresh_env(tmp_path, port)
    done = subprocess.run([sys.executable, "-c", HEAD_LOST_SCRIPT, str(repo), str(tmp_path / "work"), str(port)],
                          env=env, cwd=repo, capture_output=True, text=True, timeout=850)
    line = next((x for x in done.stdout.splitlines() if x.startswith("HEAD_LOST_RESULT ")), None)
    assert line, done.stdout[-3000:] + done.stderr[-3000:]
    out = json.loads(line.removeprefix("HEAD_LOST_RESULT "))
    assert out["killed_at"] is not None and out["killed_at"] >= 5, out
    assert "lost the Ray head" in out.get("lost", ""), out  # not a hang, not a traceback
    assert "submit the same command again to resume" in out["lost"] and out["seconds_to_error"] < 240
    assert out["resumed_code"] == 0
    steps = out["steps"]
    restart = next(i for i in range(1, len(steps)) if steps[i] <= steps[i - 1])  # where the resumed run starts
    assert 2 < steps[restart] <= out["killed_at"] + 1, steps  # from a checkpoint, not from step 1
    assert steps[-1] == 10
