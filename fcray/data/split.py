"""Deterministic, leak-free train/validation split.

Examples are grouped by their normalised last user query; a group goes to validation when
``sha256(seed:query)`` falls below ``val_fraction``. The assignment depends only on the query text and
the seed — not on row order or dataset size — so the same query never lands on both sides, and adding
rows never moves existing ones. Examples marked ``meta.holdout`` (built on held-out tools) always go to
validation, together with every example sharing their query.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fcray.data.schema import last_user_query

_SPACE = re.compile(r"\s+")


def query_key(example: dict[str, Any]) -> str:
    return _SPACE.sub(" ", last_user_query(example).strip().lower())


def _unit_hash(seed: int, key: str) -> float:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_examples(examples: list[dict[str, Any]], val_fraction: float = 0.1,
                   seed: int = 42) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return ``(train, validation)``, each in input order."""
    forced = {query_key(e) for e in examples if e.get("meta", {}).get("holdout")}
    train, validation = [], []
    for example in examples:
        key = query_key(example)
        (validation if key in forced or _unit_hash(seed, key) < val_fraction else train).append(example)
    return train, validation
