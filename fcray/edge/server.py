"""llama.cpp's OpenAI-compatible HTTP server for a GGUF file, in a child process that fcray starts and stops.

The server is llama.cpp's own (``xllamacpp`` embeds it): ``/v1/chat/completions`` with tools through the
model's Jinja chat template, ``/tokenize``, ``/health``, Prometheus ``/metrics``. It binds to loopback
unless ``edge.host`` says otherwise. Thinking is off in the served template (``enable_thinking: false``,
as fcray renders every prompt), so replies carry no empty think block::

    python -m fcray.edge.server MODEL.gguf --alias fcray-tiny --port 8090 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from fcray.cluster import free_port
from fcray.edge import EdgeError
from fcray.readiness import get_json, wait_until


class EdgeServerError(EdgeError):
    pass


class LlamaServer:
    """``with LlamaServer(path, edge) as server: server.url`` — started on enter, stopped on exit."""

    def __init__(self, gguf: str | Path, edge: Any, alias: str, log_path: str | Path | None = None,
                 start_timeout_s: float = 120.0) -> None:
        self.gguf, self.edge, self.alias = Path(gguf), edge, alias
        if not self.gguf.is_file():
            raise FileNotFoundError(f"GGUF file {self.gguf} does not exist (write it with `fcray export gguf`)")
        self.port = edge.port or free_port()
        self.log_path = Path(log_path) if log_path else self.gguf.with_suffix(".server.log")
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen | None = None
        self.load_seconds: float | None = None

    @property
    def base(self) -> str:
        host = "127.0.0.1" if self.edge.host in ("0.0.0.0", "") else self.edge.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI base URL (what ``eval.endpoint`` takes)."""
        return self.base + "/v1"

    def start(self) -> "LlamaServer":
        command = [sys.executable, "-m", "fcray.edge.server", str(self.gguf), "--alias", self.alias,
                   "--host", self.edge.host, "--port", str(self.port), "--threads", str(self.edge.threads),
                   "--ctx-size", str(self.edge.ctx_size), "--parallel", str(self.edge.parallel),
                   "--parent-pid", str(os.getpid())]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")
        started = time.monotonic()
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

        def exited() -> str | None:
            if self.process.poll() is None:
                return None
            return (f"llama.cpp's server exited ({self.process.returncode}) while loading {self.gguf}; its log "
                    f"({self.log_path}):\n{self.log_tail()}")

        try:  # /health answers 503 while the model loads, 200 {"status": "ok"} once it serves
            wait_until(lambda: get_json(self.base + "/health") == (200, {"status": "ok"}),
                       f"llama.cpp's server for {self.gguf}", self.start_timeout_s, interval_s=0.1, failed=exited)
        except RuntimeError as error:
            raise EdgeServerError(str(error)) from None
        except TimeoutError as error:
            self.stop()
            raise EdgeServerError(f"{error}; log {self.log_path}:\n{self.log_tail()}") from None
        self.load_seconds = time.monotonic() - started
        return self

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> "LlamaServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def get(self, path: str, body: dict[str, Any] | None = None, timeout: float = 60.0) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def tokenize(self, text: str) -> list[int]:
        """llama.cpp's token ids of ``text`` (special tokens parsed, no BOS added), as a prompt is read."""
        return self.get("/tokenize", {"content": text, "add_special": False, "parse_special": True})["tokens"]

    def peak_rss_bytes(self) -> int | None:
        """The server process's peak resident memory (Linux's VmHWM), or None where /proc has no figure."""
        if self.process is None:
            return None
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None


def _serve(args: argparse.Namespace) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.gguf
    params.model_alias = {args.alias} if isinstance(params.model_alias, (set, frozenset)) else args.alias
    params.hostnames, params.port = [args.host], args.port
    params.n_ctx, params.n_parallel = args.ctx_size, args.parallel
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = args.threads
    params.use_jinja = True  # the chat template embedded in the GGUF, tools included
    params.default_template_kwargs = {"enable_thinking": "false"}
    params.endpoint_metrics = True
    server = xllamacpp.Server(params)
    print(f"fcray edge: serving {args.gguf} as '{args.alias}' at {server.listening_address}", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    while not stop and os.getppid() == args.parent_pid:  # a parent that dies takes its server with it
        time.sleep(0.2)
    del server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="llama.cpp's OpenAI server for one GGUF file")
    parser.add_argument("gguf")
    parser.add_argument("--alias", required=True, help="the model name clients pass")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx-size", type=int, default=4096)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--parent-pid", type=int, default=os.getppid(), help="exit when this process is gone")
    os.environ.setdefault("LLAMA_LOG_COLORS", "0")
    _serve(parser.parse_args(argv))


if __name__ == "__main__":
    main()
