"""A local Ray head for the pipeline, and `ray job submit` of fcray's job entrypoints.

:func:`ray_head` reuses a cluster that ``RAY_ADDRESS`` points to, or starts a head on this machine with
``ray start --head`` (dashboard on, since the job server lives there) and stops it afterwards.
:func:`submit_job` runs ``ray job submit --working-dir <repo> -- <entrypoint>``, streaming its logs; the
working dir upload respects ``.gitignore`` (the virtual environment and run outputs stay behind).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


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
    try:
        with urllib.request.urlopen(f"{address}/api/version", timeout=2) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return True  # it answered (401 when the cluster uses token authentication)
    except OSError:
        return False


def _client_env(address: str) -> dict[str, str]:
    """What a client of the head at ``address`` needs: ``RAY_AUTH_MODE=token`` when it asks for Ray's token
    (a head fcray started earlier, say) and the caller has not chosen a mode itself."""
    if "RAY_AUTH_MODE" in os.environ:
        return {}
    try:
        urllib.request.urlopen(f"{address}/api/version", timeout=2).close()
    except urllib.error.HTTPError as error:
        if error.code == 401:
            return {"RAY_AUTH_MODE": "token"}
    except OSError:
        pass
    return {}


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


def _running_head() -> RayHead | None:
    """The cluster ``RAY_ADDRESS`` names (a dashboard URL), else this machine's head on our port, if either
    answers; its clients get what its authentication asks for."""
    existing = os.environ.get("RAY_ADDRESS")
    for address in ([existing] if existing and existing.startswith("http") else []) + \
            [f"http://127.0.0.1:{dashboard_port()}"]:
        if _dashboard_up(address):
            return RayHead(address, _client_env(address))
    return None


def _new_head_env() -> dict[str, str]:
    return {"RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "token")}


def _wait_for_dashboard(address: str, exited=lambda: None) -> None:
    """Until the new head's dashboard answers; ``exited()`` returns why the start failed, if it did."""
    deadline = time.time() + 90
    while not _dashboard_up(address):
        why = exited()
        if why:
            raise RuntimeError(why)
        if time.time() > deadline:
            raise RuntimeError(f"the Ray head started, but its dashboard at {address} did not come up")
        time.sleep(1)


def ensure_head(num_cpus: int | None = None) -> RayHead:
    """A running cluster's dashboard address (``RAY_ADDRESS`` if it is one, else this machine's), starting
    a lasting local head with ``ray start --head`` when none answers (stop it with ``ray stop``)."""
    running = _running_head()
    if running is not None:
        return running
    env = _new_head_env()
    done = subprocess.run(_head_command(dashboard_port(), num_cpus, block=False), capture_output=True, text=True,
                          env={**os.environ, **env})
    if done.returncode != 0:
        raise RuntimeError(f"`ray start --head` exited with {done.returncode}: {done.stderr[-2000:]}")
    address = f"http://127.0.0.1:{dashboard_port()}"
    _wait_for_dashboard(address)
    return RayHead(address, env)


@contextlib.contextmanager
def ray_head(num_cpus: int | None = None) -> Iterator[RayHead]:
    """Yield a running Ray cluster's job-submission address, starting a local head if none answers.

    A head started here uses Ray's token authentication (its default since 2.5x); its clients get
    ``RAY_AUTH_MODE=token`` so they send the token Ray keeps in ``~/.ray/auth_token``. For a cluster that
    is already running, the caller's own environment (``RAY_AUTH_MODE``, ``RAY_AUTH_TOKEN``) applies.
    """
    running = _running_head()
    if running is not None:
        yield running
        return
    port = dashboard_port()
    address = f"http://127.0.0.1:{port}"
    env = _new_head_env()
    # --block keeps `ray start` in the foreground: stopping that one process stops exactly the head it
    # started (`ray stop` would stop every Ray process on the machine, a user's own cluster included).
    head = subprocess.Popen(_head_command(port, num_cpus, block=True), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    try:
        _wait_for_dashboard(address, lambda: None if head.poll() is None else
                            f"`ray start --head` exited with {head.returncode}: {head.stderr.read()[-2000:]}")
        yield RayHead(address, env)
    finally:
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()


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


def submit_job(head: RayHead, entrypoint: list[str], working_dir: str | Path) -> int:
    """``ray job submit``; waits for the job, streaming its logs. Returns the CLI's exit status."""
    command = [_ray_cli(), "job", "submit", "--address", head.address, "--working-dir", str(working_dir), "--",
               *entrypoint]
    return subprocess.run(command, env={**os.environ, **head.env, "RAY_ADDRESS": head.address}).returncode
