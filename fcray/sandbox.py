"""Run what executes model output in a confined child process: BFCL's multi-turn checker (which ``eval()``s
the model's calls) and every registered tool implementation (which runs on the model's arguments).

The child confines itself before it runs anything, and everything it starts inherits the confinement:

* **its own process**: a crash, a hang or a memory blow-up is the caller's scored failure, never fcray's;
  the caller waits with a time limit and kills the child past it;
* **a scratch directory** as working directory, ``HOME`` and ``TMPDIR``, removed afterwards;
* **an environment of its own**: ``PATH``, ``LANG``, ``PYTHONPATH`` (to import fcray) and what the caller
  passes by name; nothing else of the parent's (API keys, Hub tokens, cloud credentials);
* **resource limits**: address space (memory), size of a written file, no core dumps;
* **Landlock** (Linux >= 5.13, no privileges needed; through the ``landlock`` package): the file system is
  read-only except the scratch directory, ``/dev/null`` and the paths the caller names;
* **no network** where the kernel allows a network namespace (root, or unprivileged user namespaces);
  callers that must reach a local server (BFCL's harness asks the served model) keep the network.

Without Landlock (an old or locked-down kernel) the child refuses to start, naming the cause, unless
``FCRAY_SANDBOX_UNCONFINED_FS=1`` accepts process isolation without file-system confinement.

Two forms: :func:`run_confined` runs a command line confined (``python -m fcray.sandbox exec``);
:class:`SandboxWorker` keeps one confined Python process (``python -m fcray.sandbox serve``) that calls
importable functions (``"module:qualname"``) on JSON arguments and returns JSON results, so that a tool call
costs a pipe round trip, not a process start.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

UNCONFINED_FS_ENV = "FCRAY_SANDBOX_UNCONFINED_FS"
NOT_JSON = "NotJSON"  # RemoteError.type of a function whose result JSON cannot carry
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_PYTHONPATH = str(Path(__file__).resolve().parents[1])  # the folder fcray is imported from


class SandboxError(RuntimeError):
    """The sandboxed work did not give a result: it could not start, timed out or crashed."""


class SandboxTimeout(SandboxError):
    pass


class SandboxCrashed(SandboxError):
    pass


@dataclass(frozen=True)
class RemoteError(Exception):
    """An exception raised inside the sandbox, passed back as data (its type's name and its message)."""

    type: str
    message: str

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


@dataclass(frozen=True)
class Confinement:
    """What the child may do. Defaults fit a tool implementation: 1 GiB, no network, nothing writable."""

    memory_bytes: int = 1 << 30
    max_file_bytes: int = 64 << 20
    writable: tuple[str, ...] = ()    # paths (besides the scratch directory) the child may write under
    network: bool = False             # keep the parent's network (else a network namespace of its own)
    env: dict[str, str] = field(default_factory=dict)  # variables passed by name, on top of the minimal ones


def child_env(confinement: Confinement, scratch: str) -> dict[str, str]:
    """The child's whole environment: nothing inherited but PATH and the locale."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": scratch, "TMPDIR": scratch,
            "PYTHONPATH": _PYTHONPATH, "PYTHONDONTWRITEBYTECODE": "1", **confinement.env}


def _unshare_network() -> str:
    libc = ctypes.CDLL(None, use_errno=True)
    for flags, how in ((_CLONE_NEWNET, "a network namespace"),
                       (_CLONE_NEWUSER | _CLONE_NEWNET, "a user and network namespace")):
        if libc.unshare(flags) == 0:
            return f"isolated ({how})"
    return f"not isolated: unshare failed ({os.strerror(ctypes.get_errno())})"


def _landlock(scratch: str, writable: tuple[str, ...]) -> str:
    """Read and execute everywhere; write only under ``scratch`` and ``writable`` (and to /dev/null)."""
    import landlock

    everything = landlock.FSAccess.all()
    ruleset = landlock.Ruleset(restrict_rules=everything)
    read_only = landlock.FSAccess.EXECUTE | landlock.FSAccess.READ_FILE | landlock.FSAccess.READ_DIR
    ruleset.allow("/", rules=read_only)
    ruleset.allow("/dev/null", rules=landlock.FSAccess.all_file())
    ruleset.allow(scratch, *writable, rules=everything)
    ruleset.apply()
    return f"landlock ABI {landlock.landlock_abi_version()}"


def confine(confinement: Confinement, scratch: str) -> dict[str, str]:
    """Confine the calling process (the child, before it runs anything); returns what was applied."""
    import resource

    report = {"network": "shared" if confinement.network else _unshare_network()}
    resource.setrlimit(resource.RLIMIT_AS, (confinement.memory_bytes, confinement.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (confinement.max_file_bytes, confinement.max_file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        report["filesystem"] = _landlock(scratch, tuple(str(Path(p).resolve()) for p in confinement.writable))
    except Exception as error:  # no Landlock in this kernel (or the package is missing)
        if os.environ.get(UNCONFINED_FS_ENV) != "1":
            raise SandboxError(f"fcray's sandbox needs Landlock to confine the file system and could not apply it "
                               f"({type(error).__name__}: {error}); run on Linux >= 5.13 with Landlock enabled, or "
                               f"set {UNCONFINED_FS_ENV}=1 to accept process isolation only") from error
        report["filesystem"] = f"NOT confined ({UNCONFINED_FS_ENV}=1): {type(error).__name__}: {error}"
    os.chdir(scratch)
    return report


def _spec(confinement: Confinement, scratch: str) -> str:
    return json.dumps({"confinement": asdict(confinement), "scratch": scratch})


def _passed_on() -> dict[str, str]:
    """The one parent setting the child must see (it is read at start-up, before confinement)."""
    return {UNCONFINED_FS_ENV: os.environ[UNCONFINED_FS_ENV]} if UNCONFINED_FS_ENV in os.environ else {}


def run_confined(argv: list[str], confinement: Confinement = Confinement(), timeout_s: float | None = None,
                 **popen: Any) -> subprocess.CompletedProcess:
    """Run ``argv`` confined (``subprocess.run``'s keywords apply, but not ``env`` or ``cwd``: the child gets
    its own). Past ``timeout_s`` the whole process group is killed and :class:`SandboxTimeout` raised."""
    scratch = tempfile.mkdtemp(prefix="fcray-sandbox-")
    env = {**child_env(confinement, scratch), **_passed_on()}
    command = [sys.executable, "-m", "fcray.sandbox", "exec", _spec(confinement, scratch), "--", *argv]
    if popen.pop("capture_output", False):
        popen.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        process = subprocess.Popen(command, env=env, cwd=scratch, start_new_session=True, **popen)
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise SandboxTimeout(f"{argv[0]} ran past {timeout_s:g} s in the sandbox and was killed") from None
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def qualified_name(fn: Any) -> str:
    """``"module:qualname"`` of ``fn``, what :class:`SandboxWorker` imports (:func:`importable_name` checks it)."""
    return f"{getattr(fn, '__module__', None)}:{getattr(fn, '__qualname__', '')}"


def importable_name(fn: Any) -> str:
    """``"module:qualname"`` of a module-level function, which the sandbox's own interpreter can import;
    ValueError for a lambda, a closure or a method defined inside a function."""
    name = qualified_name(fn)
    try:
        found = resolve(name)
    except Exception:
        found = None
    if found is not fn:
        raise ValueError(f"{fn!r} runs in fcray's sandbox process, which imports it by name ({name}): make it a "
                         f"module-level function of an importable module")
    return name


def resolve(name: str) -> Any:
    module, _, qualname = name.partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


class SandboxWorker:
    """One confined Python process that calls ``"module:qualname"`` functions on JSON keyword arguments.

    Started on the first call and after a crash or a timeout (which kill it); calls are serialised (one at a
    time, from any thread). A forked child of the caller starts a worker of its own."""

    def __init__(self, confinement: Confinement = Confinement()) -> None:
        self.confinement = confinement
        self.report: dict[str, str] = {}
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._imported: set[str] = set()  # modules this worker process has imported (not timed)
        self._pid = os.getpid()
        atexit.register(self.close)

    def _start(self) -> subprocess.Popen:
        self._scratch = tempfile.mkdtemp(prefix="fcray-sandbox-")
        self._stderr = tempfile.TemporaryFile()  # the child's messages, read when it fails to start
        env = {**child_env(self.confinement, self._scratch), **_passed_on()}
        process = subprocess.Popen([sys.executable, "-m", "fcray.sandbox", "serve", _spec(self.confinement, self._scratch)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
                                   cwd=self._scratch, start_new_session=True)
        self._process, self._imported = process, set()
        ready = self._read(60.0)
        if ready is None or "ready" not in ready:
            self._stderr.seek(0)
            message = self._stderr.read().decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            self.close()
            raise SandboxError(f"the sandbox process did not start: {message[0]}")
        self.report = ready["ready"]
        return process

    def _read(self, timeout_s: float | None) -> dict[str, Any] | None:
        assert self._process is not None and self._process.stdout is not None
        readable, _, _ = select.select([self._process.stdout], [], [], timeout_s)
        if not readable:
            raise SandboxTimeout("no answer")
        line = self._process.stdout.readline()
        return json.loads(line) if line else None

    def call(self, name: str, kwargs: dict[str, Any], timeout_s: float | None = None) -> Any:
        """``resolve(name)(**kwargs)`` in the sandbox. Raises :class:`RemoteError` for an exception there,
        :class:`SandboxTimeout` past ``timeout_s`` and :class:`SandboxCrashed` if the process died."""
        request = json.dumps({"call": name, "kwargs": kwargs}).encode() + b"\n"
        with self._lock:
            if self._pid != os.getpid():  # forked: the pipes belong to the parent's worker
                self._process, self._pid = None, os.getpid()
            if self._process is None or self._process.poll() is not None:
                self._start()
            module = name.partition(":")[0]
            if module not in self._imported:  # importing is not the call: it gets a limit of its own
                imported = self._ask(json.dumps({"import": module}).encode() + b"\n", f"importing {module}", 60.0)
                if not imported.get("ok"):
                    raise RemoteError(imported["type"], imported["message"])
                self._imported.add(module)
            answer = self._ask(request, name, timeout_s)
        if answer.get("ok"):
            return answer["value"]
        raise RemoteError(answer["type"], answer["message"])

    def _ask(self, request: bytes, what: str, timeout_s: float | None) -> dict[str, Any]:
        """One request, one answer (the lock is held)."""
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(request)
            self._process.stdin.flush()
            answer = self._read(timeout_s)
        except SandboxTimeout:
            self.close()
            raise SandboxTimeout(f"{what} ran past {timeout_s:g} s in the sandbox and was killed") from None
        except (BrokenPipeError, ValueError):
            answer = None
        if answer is None:
            code = self._process.wait()
            self.close()
            raise SandboxCrashed(f"the sandbox process died during {what} (exit code {code})")
        return answer

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and self._pid == os.getpid():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
            self._stderr.close()
            shutil.rmtree(self._scratch, ignore_errors=True)


def _serve(protocol_out: Any) -> None:
    """The worker's loop: one JSON request per line on stdin, one JSON answer per line on ``protocol_out``."""
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if "import" in request:
                importlib.import_module(request["import"])
                value = None
            else:
                value = resolve(request["call"])(**request["kwargs"])
        except BaseException as error:  # everything is the caller's to score, even SystemExit
            answer = json.dumps({"ok": False, "type": type(error).__name__, "message": str(error)[:2000]})
        else:
            try:
                answer = json.dumps({"ok": True, "value": value}, allow_nan=False)
            except (TypeError, ValueError) as error:
                answer = json.dumps({"ok": False, "type": NOT_JSON, "message": f"result is not JSON: {error}"})
        protocol_out.write(answer + "\n")
        protocol_out.flush()


def main(argv: list[str]) -> None:
    mode, spec = argv[0], json.loads(argv[1])
    confinement = Confinement(**{**spec["confinement"], "writable": tuple(spec["confinement"]["writable"])})
    report = confine(confinement, spec["scratch"])
    if mode == "exec":
        command = argv[argv.index("--") + 1:]
        os.execvp(command[0], command)
    # serve: the protocol gets its own copy of stdout; what the functions print goes to stderr
    protocol_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    protocol_out.write(json.dumps({"ready": report}) + "\n")
    protocol_out.flush()
    _serve(protocol_out)


if __name__ == "__main__":
    main(sys.argv[1:])
