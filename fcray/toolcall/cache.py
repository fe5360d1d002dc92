"""Per-object caches for scoring: GRPO scores many completions of one example in a row, so data derived
from an example's tools or messages is computed once per object, not once per completion."""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def by_identity(maxsize: int = 4096) -> Callable[[Callable[[Any], T]], Callable[[Any], T]]:
    """Cache ``fn(obj)`` on ``id(obj)``. The cache keeps ``obj`` alive, so an id is never reused while cached."""

    def decorator(fn: Callable[[Any], T]) -> Callable[[Any], T]:
        cache: OrderedDict[int, tuple[Any, T]] = OrderedDict()

        @functools.wraps(fn)
        def cached(obj: Any) -> T:
            key = id(obj)
            hit = cache.get(key)
            if hit is not None and hit[0] is obj:
                cache.move_to_end(key)
                return hit[1]
            value = fn(obj)
            cache[key] = (obj, value)
            if len(cache) > maxsize:
                cache.popitem(last=False)
            return value

        cached.cache_clear = cache.clear  # type: ignore[attr-defined]
        return cached

    return decorator
