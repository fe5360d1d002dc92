"""Data sources: each turns some external format into canonical examples.

A source is a class registered under a name (``data.source`` in the config) with one method,
``load(config, report) -> Iterator[example]``. Adding a format means adding a module here that
calls :func:`register_source`; nothing else dispatches on the source name.
"""

from __future__ import annotations

from fcray.config import ConfigError
from fcray.data.sources.base import (  # noqa: F401  (the package's public names)
    _SOURCES,
    Source,
    canonical,
    convert_rows,
    parse_json_field,
    read_rows,
    register_source,
)


def get_source(name: str) -> Source:
    _import_builtin_sources()
    if name not in _SOURCES:
        raise ConfigError(f"data.source: unknown source '{name}'; available: {', '.join(sorted(_SOURCES))}")
    return _SOURCES[name]()


def available_sources() -> list[str]:
    _import_builtin_sources()
    return sorted(_SOURCES)


def _import_builtin_sources() -> None:
    from fcray.data.sources import hermes, jsonl, synthetic, xlam  # noqa: F401  (registration side effect)

