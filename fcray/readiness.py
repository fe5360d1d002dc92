"""Waiting for something to come up — a Ray dashboard, a Serve app, a vLLM server — in one place.

Every wait polls a check, gives up early when a second check says it never will (the process exited, the
deployment failed), and times out with a message that names what it waited for.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from typing import Any, Callable


def wait_until(ready: Callable[[], Any], what: str, timeout_s: float, interval_s: float = 1.0,
               failed: Callable[[], str | None] = lambda: None) -> Any:
    """Poll ``ready()`` every ``interval_s`` until it returns something truthy, and return that.

    ``failed()`` returns why waiting is pointless (RuntimeError with that reason), or None; a ``ready``
    whose own answer shows that (a deployment that failed) may raise instead. After ``timeout_s`` a
    TimeoutError says ``what`` did not come up.

    >>> wait_until(lambda: 42, "the answer", timeout_s=1)
    42
    >>> wait_until(lambda: None, "the server", timeout_s=0, failed=lambda: "it exited with 1")
    Traceback (most recent call last):
    RuntimeError: it exited with 1
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = ready()
        if result:
            return result
        why = failed()
        if why:
            raise RuntimeError(why)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not come up within {timeout_s:.0f} s")
        time.sleep(interval_s)


def get_json(url: str, timeout: float = 2, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(HTTP status, parsed JSON body or None) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
            try:
                return response.status, json.loads(response.read() or b"null")
            except ValueError:
                return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        # HTTPException: something that is not an HTTP server holds the port (a gRPC port answers in binary)
        return 0, None
