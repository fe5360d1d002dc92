"""A local Ray head for the pipeline, and `ray job submit` of fcray's job entrypoints.

:func:`ray_head` reuses a cluster that ``RAY_ADDRESS`` points to, or starts a head on this machine with
``ray start --head`` (dashboard on, since the job server lives there) and stops it afterwards;
:func:`ensure_head` starts one that lasts (``fcray serve``) and :func:`stop_started_head` stops exactly it.
A head fcray starts uses Ray's token authentication, and fcray creates the token where Ray looks for it
when there is none (:func:`ensure_auth_token`): Ray 2.60's ``ray start`` does not.
:func:`submit_job` submits an entrypoint as a Ray job with the repository as its working dir (Ray's
``JobSubmissionClient``, as ``ray job submit`` does), streaming its logs; the working dir upload respects
``.gitignore`` (the virtual environment and run outputs stay behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fcray.readiness import get_json, wait_until


def dashboard_port() -> int:
    """The job server port of a head started here: ``FCRAY_RAY_DASHBOARD_PORT``, else Ray's default 8265."""
    return int(os.environ.get("FCRAY_RAY_DASHBOARD_PORT", "8265"))


def free_port() -> int:
    """A TCP port nobody listens on right now (on the loopback interface)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ray_cli() -> str:
    local = Path(sys.executable).with_name("ray")  # the ray of this environment, not another one on PATH
    return str(local) if local.exists() else (shutil.which("ray") or "ray")


def _dashboard_up(address: str) -> bool:
    """Whether a Ray dashboard answers at ``address`` (not just any HTTP server on that port)."""
    code, body = get_json(f"{address}/api/version")
    # Ray's dashboard with token authentication answers 401 without the token
    return code == 401 or (code == 200 and isinstance(body, dict) and "ray_version" in body)


def _client_env(address: str) -> dict[str, str]:
    """What a client of the head at ``address`` needs: ``RAY_AUTH_MODE=token`` when it asks for Ray's token
    (a head fcray started earlier, say) and the caller has not chosen a mode itself."""
    if "RAY_AUTH_MODE" in os.environ:
        return {}
    return {"RAY_AUTH_MODE": "token"} if get_json(f"{address}/api/version")[0] == 401 else {}


def auth_token_path() -> Path:
    """Where Ray's token loader reads the token from a file: ``RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``."""
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token").expanduser()


def ensure_auth_token() -> Path | None:
    """Make sure a head started with ``RAY_AUTH_MODE=token`` (and its clients) find a token.

    Ray 2.60's ``ray start --head`` requires one but never creates one (only ``ray.init()`` of a new local
    instance does), so on a fresh machine the head exits with ``AuthenticationError``. When neither
    ``RAY_AUTH_TOKEN`` nor a token file exists, this writes a new token from Ray's own generator to the path
    Ray's loader reads (:func:`auth_token_path`), readable by the owner only — what
    ``ray get-auth-token --generate`` does, without echoing the token to stdout. The token is never printed
    or logged. Returns the file written, or ``None`` when a token was already there.
    """
    if os.environ.get("RAY_AUTH_TOKEN"):
        return None
    path = auth_token_path()
    if path.is_file() and path.read_text().strip():
        return None
    from ray._private.authentication.authentication_token_generator import generate_new_authentication_token

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:  # O_EXCL: two fcray commands starting heads at once must not write two different tokens
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w") as f:
        f.write(generate_new_authentication_token())
    try:  # this process may have looked for a token already (and cached "none")
        from ray._raylet import AuthenticationTokenLoader

        AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError):
        pass
    return path


@dataclass
class RayHead:
    address: str             # job-submission (dashboard) address
    env: dict[str, str]      # environment for clients of this head (`ray job submit`)


def _head_command(port: int, num_cpus: int | None, block: bool) -> list[str]:
    # Free ports wherever Ray has a fixed default (GCS 6379, client server 10001, the dashboard agent that
    # accepts job submissions 52365): another Ray on this machine must not make the start fail or leave
    # the head without a job agent ("No available agent to submit job").
    command = [_ray_cli(), "start", "--head", *(["--block"] if block else []), "--include-dashboard=true",
               f"--dashboard-port={port}", f"--port={free_port()}", f"--ray-client-server-port={free_port()}",
               f"--dashboard-agent-listen-port={free_port()}", "--disable-usage-stats"]
    return command + ([f"--num-cpus={num_cpus}"] if num_cpus is not None else [])


def running_head() -> RayHead | None:
    """The cluster ``RAY_ADDRESS`` names (a dashboard URL), else this machine's head on our port, if either
    answers; its clients get what its authentication asks for."""
    existing = os.environ.get("RAY_ADDRESS")
    for address in ([existing] if existing and existing.startswith("http") else []) + \
            [f"http://127.0.0.1:{dashboard_port()}"]:
        if _dashboard_up(address):
            return RayHead(address, _client_env(address))
    return None


def _new_head_env() -> dict[str, str]:
    """The environment of a head fcray starts (and of its clients): Ray's token authentication unless the
    caller chose a mode, with a token created where Ray looks for it if there is none yet."""
    mode = os.environ.get("RAY_AUTH_MODE", "token")
    if mode == "token":
        ensure_auth_token()
    return {"RAY_AUTH_MODE": mode}


def _start_failure(code: int | None, log: str) -> str:
    """Why ``ray start --head`` failed, and what to do about it."""
    hint = ""
    if "AuthenticationError" in log or "authentication token" in log:
        hint = (f"\nRay's token authentication found no usable token (looked at RAY_AUTH_TOKEN, then "
                f"{auth_token_path()}). Create one with `ray get-auth-token --generate`, or set "
                f"RAY_AUTH_MODE=disabled to start an unauthenticated local head.")
    elif "in use" in log.lower():
        hint = (f"\nA port the head needs is taken; choose another dashboard port with "
                f"FCRAY_RAY_DASHBOARD_PORT (now {dashboard_port()}).")
    return f"`ray start --head` exited with {code}: {log[-2000:]}{hint}"


def _wait_for_dashboard(address: str, exited=lambda: None) -> None:
    """Until the new head's dashboard answers; ``exited()`` returns why the start failed, if it did."""
    wait_until(lambda: _dashboard_up(address), f"the Ray head started, but its dashboard at {address}", 90,
               failed=exited)


def _start_head(port: int, num_cpus: int | None, env: dict[str, str], log: Any,
                detached: bool = False) -> subprocess.Popen:
    """``ray start --head --block`` on dashboard ``port``, its output into ``log`` (a file opened for reading
    too), returned once its dashboard answers. ``--block`` keeps it one process that owns the head, so
    terminating that process stops exactly this head (``ray stop`` would stop every Ray on the machine)."""
    head = subprocess.Popen(_head_command(port, num_cpus, block=True), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env={**os.environ, **env}, start_new_session=detached)

    def exited() -> str | None:
        if head.poll() is None:
            return None
        log.flush()
        log.seek(0)
        return _start_failure(head.returncode, log.read())

    _wait_for_dashboard(f"http://127.0.0.1:{port}", exited)
    return head


def _state_dir() -> Path:
    """Where fcray records the lasting heads it started (beside Ray's own temp dir, honouring RAY_TMPDIR)."""
    return Path(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()) / "fcray-heads"


def _head_record(port: int) -> Path:
    return _state_dir() / f"head-{port}.json"


def ensure_head(num_cpus: int | None = None) -> RayHead:
    """A running cluster's dashboard address (``RAY_ADDRESS`` if it is one, else this machine's), starting
    a lasting local head when none answers. fcray records the process it started, so
    :func:`stop_started_head` (``fcray serve --stop``) stops exactly that head, never another Ray."""
    running = running_head()
    if running is not None:
        return running
    port = dashboard_port()
    env = _new_head_env()
    record = _head_record(port)
    record.parent.mkdir(parents=True, exist_ok=True)
    log_path = record.with_suffix(".log")
    # A new session detaches the head from this command, so it outlives it; terminating that one
    # `ray start --block` process later stops exactly this head.
    with open(log_path, "w+") as log:
        head = _start_head(port, num_cpus, env, log, detached=True)
    address = f"http://127.0.0.1:{port}"
    record.write_text(json.dumps({"pid": head.pid, "address": address, "log": str(log_path)}))
    return RayHead(address, env)


def _is_our_head(pid: int) -> bool:
    """Whether ``pid`` is still a `ray start --head --block` process (a recycled pid is left alone)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"start" in cmdline and b"--head" in cmdline and b"--block" in cmdline


def _stop_process(pid: int, timeout: float = 60) -> None:
    import signal

    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and _is_our_head(pid):
        try:  # reap it when it is our child (a head started by this same process)
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.5)
    if _is_our_head(pid):
        os.kill(pid, signal.SIGKILL)


def stop_started_head(address: str) -> int | None:
    """Stop the lasting head at dashboard ``address`` if :func:`ensure_head` started it, by the process id it
    recorded — never ``ray stop``, which would stop every Ray on the machine. Returns the process id stopped,
    or ``None`` when fcray started no head there (that cluster is left alone)."""
    port = address.rstrip("/").rpartition(":")[2]
    record = _head_record(int(port)) if port.isdigit() else None
    if record is None or not record.is_file():
        return None
    recorded = json.loads(record.read_text())
    if recorded["address"] != address:
        return None
    pid = recorded["pid"]
    stopped = None
    if _is_our_head(pid):
        _stop_process(pid)
        stopped = pid
    record.unlink(missing_ok=True)
    return stopped


@contextlib.contextmanager
def ray_head(num_cpus: int | None = None) -> Iterator[RayHead]:
    """Yield a running Ray cluster's job-submission address, starting a local head if none answers.

    A head started here uses Ray's token authentication (its default since 2.5x), with a token created
    where Ray looks for it when there is none (:func:`ensure_auth_token`); its clients get
    ``RAY_AUTH_MODE=token`` so they send that token. For a cluster that is already running, the caller's
    own environment (``RAY_AUTH_MODE``, ``RAY_AUTH_TOKEN``) applies.
    """
    running = running_head()
    if running is not None:
        yield running
        return
    port = dashboard_port()
    env = _new_head_env()
    with tempfile.TemporaryFile("w+") as log:
        head = _start_head(port, num_cpus, env, log)
        try:
            yield RayHead(f"http://127.0.0.1:{port}", env)
        finally:
            head.terminate()
            try:
                head.wait(timeout=60)
            except subprocess.TimeoutExpired:
                head.kill()


def use_head(head: RayHead) -> None:
    """Make this process a client of ``head``: its auth settings in ``os.environ`` (for Ray's REST clients,
    e.g. Serve's, and for child processes), and Ray's in-process auth config and token cache refreshed —
    both are read once, when ``ray`` is first imported, and would otherwise keep the mode from before."""
    os.environ.update(head.env)
    try:
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError):
        pass


def init_address() -> str:
    """The ``address`` for ``ray.init``: ``RAY_ADDRESS`` (set inside `ray job submit` jobs), else a local
    cluster started with `ray start` if its GCS answers, else ``"local"`` (a new instance). Ray's own
    auto-detection trusts ``/tmp/ray/ray_current_cluster`` even when that cluster is gone, and then
    waits minutes for a dead GCS."""
    from ray._common.utils import get_ray_address_file  # where `ray start` records it (honours RAY_TMPDIR)

    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    current = Path(get_ray_address_file(None))
    try:
        host, _, port = current.read_text().strip().rpartition(":")
        socket.create_connection((host, int(port)), timeout=1).close()
        return "auto"
    except (OSError, ValueError):
        return "local"


def connect(min_cpus: int = 1) -> None:
    """``ray.init`` unless already connected: the cluster :func:`init_address` finds, as it is, or else a new
    local instance with at least ``min_cpus`` logical CPUs, so a stage's workers (and GRPO's engines) can
    all be scheduled even on a 2-core machine, where they then share the cores."""
    import ray

    if ray.is_initialized():
        return
    address = init_address()
    ray.init(address=address, **({"num_cpus": max(os.cpu_count() or 1, min_cpus)} if address == "local" else {}))


# Parents of the loggers the job client writes to (dashboard_sdk, job.sdk; runtime_env.packaging and
# .working_dir): their children's records stop at them.
_JOB_CLIENT_LOGGERS = ("ray.dashboard.modules", "ray._private.runtime_env")


@contextlib.contextmanager
def _client_logs_to(emit) -> Iterator[None]:
    """The job client's own log lines (package upload, log stream closed) go to ``emit``, where the job's
    lines go, as `ray job submit`'s did, instead of to this process's stderr."""
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(asctime)s\t%(levelname)s %(filename)s:%(lineno)d -- %(message)s"))
    handler.emit = lambda record: emit(handler.format(record) + "\n")
    routed = [(logger, logger.propagate) for logger in map(logging.getLogger, _JOB_CLIENT_LOGGERS)]
    for logger, _ in routed:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in routed:
            logger.removeHandler(handler)
            logger.propagate = propagate


class HeadLost(RuntimeError):
    """The Ray head stopped answering while a submitted job ran: the message says what to do."""


def head_answers(address: str) -> bool:
    """Whether anything answers at the head's dashboard ``address`` (a 401 counts: it is up)."""
    return get_json(f"{address}/api/version", timeout=5)[0] != 0


def submit_job(head: RayHead, entrypoint: list[str], working_dir: str | Path, on_line=None,
               env_vars: dict[str, str] | None = None) -> int:
    """Submit ``entrypoint`` as a Ray job (Ray's ``JobSubmissionClient``, what ``ray job submit`` uses) with
    ``working_dir`` uploaded, and wait for it, streaming its logs (to this process's output, or line by
    line to ``on_line``). ``env_vars`` reach the job and every actor and Ray Train worker it starts (the
    job's runtime env). Returns 0 when the job succeeded, else its driver's exit code (1 if it has none).
    Interrupting the wait (Ctrl-C) stops the job too: nothing keeps training after its caller is gone.
    :class:`HeadLost` when the head dies while the job runs (the job's checkpoints stay in its run folder)."""
    from ray.job_submission import JobSubmissionClient

    use_head(head)  # the client authenticates with the head's token
    emit = on_line or (lambda line: print(line, end="", flush=True))
    with _client_logs_to(emit):
        client = JobSubmissionClient(head.address)
        runtime_env = {"working_dir": str(working_dir), **({"env_vars": env_vars} if env_vars else {})}
        job_id = client.submit_job(entrypoint=shlex.join(entrypoint), runtime_env=runtime_env)
        emit(f"Job '{job_id}' submitted successfully to {head.address}\n")
        try:
            status = _follow(client, job_id, emit)
            info = None if status == "SUCCEEDED" else client.get_job_info(job_id)
        except KeyboardInterrupt:
            client.stop_job(job_id)
            raise
        except Exception as error:  # the log stream or a status query failed: is the head gone?
            if head_answers(head.address):
                raise
            raise HeadLost(f"lost the Ray head at {head.address} while job '{job_id}' ran ({type(error).__name__}: "
                           f"{str(error)[:200]}); what the job wrote stays (its run folder, its checkpoints): start "
                           f"a head and submit the same command again to resume") from None
        if status == "SUCCEEDED":
            emit(f"Job '{job_id}' succeeded\n")
            return 0
        reason = (info.message or "").splitlines()[0] if info.message else "no reason given"
        emit(f"Job '{job_id}' {status.lower()}: {reason}\n")
        return info.driver_exit_code or 1


def _follow(client: Any, job_id: str, emit) -> str:
    """Stream the job's log lines to ``emit`` until it ends; its final status (SUCCEEDED, FAILED, STOPPED)."""

    async def tail() -> None:
        pending = ""  # log chunks are not split at line ends
        async for chunk in client.tail_job_logs(job_id):
            *lines, pending = (pending + chunk).split("\n")
            for line in lines:
                emit(line + "\n")
        if pending:
            emit(pending + "\n")

    asyncio.run(tail())
    terminal = ("SUCCEEDED", "FAILED", "STOPPED")
    return wait_until(lambda: (s := str(client.get_job_status(job_id).value)) in terminal and s,
                      f"the end of job {job_id}", 60)
