"""Reference wordings for assistant turns that are not tool calls (no-call answers, asking for an argument).

Chosen deterministically from a key (the example id), so a dataset rebuilds byte-identically.
"""

from __future__ import annotations

import hashlib

_NO_CALL = (
    "None of the available functions can do that, so I cannot help with this request using these tools.",
    "I'm sorry, but the tools I have access to cannot handle this request.",
    "The functions provided do not cover this request, so I won't call any of them.",
    "I can't do that with the available tools.",
)

_ASK = (
    "Could you tell me the {what}? I need it to {action}.",
    "I need the {what} to {action}. What should I use?",
    "Please provide the {what} so I can {action}.",
)


def _pick(options: tuple[str, ...], key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    return options[digest[0] % len(options)]


def no_call_reply(key: str) -> str:
    return _pick(_NO_CALL, key)


def ask_reply(key: str, missing: list[str], tool_name: str) -> str:
    what = " and ".join(m.replace("_", " ") for m in missing)
    action = f"call {tool_name}"
    return _pick(_ASK, key).format(what=what, action=action)
