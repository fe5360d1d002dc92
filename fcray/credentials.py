"""API keys by reference, never by value: a config names where a key is, ``env:NAME`` (an environment
variable) or ``file:PATH`` (a file holding only the key, e.g. a mounted Kubernetes Secret), and the key is
read where it is used. A key given as a value would land in shell history (``--set``), in config dumps and
in the Serve config that the dashboard shows.

>>> check_reference("env:FCRAY_API_KEY", "serve.api_key")
>>> check_reference("sk-123", "serve.api_key")
Traceback (most recent call last):
...
ValueError: serve.api_key: give where the key is, env:NAME or file:PATH, not the key itself (a key on the command line or in a config lands in shell history and config dumps)
"""

from __future__ import annotations

import os
from pathlib import Path

OPENAI_ENV = "OPENAI_API_KEY"
NO_KEY = "EMPTY"  # what OpenAI clients send to a server that needs none


class CredentialError(RuntimeError):
    """A referenced key is not there: the message names the reference and the field that holds it."""


def check_reference(reference: str | None, field: str) -> None:
    """ValueError unless ``reference`` is None, ``env:NAME`` or ``file:PATH``."""
    if reference is None:
        return
    kind, _, where = reference.partition(":")
    if kind not in ("env", "file") or not where:
        raise ValueError(f"{field}: give where the key is, env:NAME or file:PATH, not the key itself (a key on "
                         f"the command line or in a config lands in shell history and config dumps)")


def resolve(reference: str, field: str) -> str:
    """The key ``reference`` points to; CredentialError when the variable is unset or the file is missing or
    empty."""
    check_reference(reference, field)
    kind, _, where = reference.partition(":")
    if kind == "env":
        key = os.environ.get(where, "").strip()
        if not key:
            raise CredentialError(f"{field}={reference}: the environment variable {where} is not set here")
        return key
    path = Path(where).expanduser()
    try:
        key = path.read_text().strip()
    except OSError as error:
        raise CredentialError(f"{field}={reference}: cannot read {path}: {error.strerror}") from None
    if not key:
        raise CredentialError(f"{field}={reference}: {path} is empty")
    return key


def client_api_key(reference: str | None, field: str) -> str:
    """The key a client sends: ``reference``'s when given, else ``$OPENAI_API_KEY``, else ``EMPTY``."""
    if reference is not None:
        return resolve(reference, field)
    return os.environ.get(OPENAI_ENV) or NO_KEY


def bearer(key: str) -> dict[str, str]:
    """HTTP headers carrying ``key`` (none for ``EMPTY``)."""
    return {} if key == NO_KEY else {"Authorization": f"Bearer {key}"}
