"""The source registry and what every source shares: reading rows (local files or the Hub), converting and
validating them. Sources import this module, never the package, so registering one creates no import cycle."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from fcray.config import DataConfig
from fcray.data.report import DataError, LoadReport


class Source(Protocol):
    name: str

    def load(self, config: DataConfig, report: LoadReport) -> Iterator[dict[str, Any]]: ...


_SOURCES: dict[str, type] = {}


def register_source(name: str) -> Callable[[type], type]:
    def decorator(cls: type) -> type:
        cls.name = name
        _SOURCES[name] = cls
        return cls

    return decorator


# ---------------------------------------------------------------------------------------------------------
# Reading rows from a local file, a folder, or the Hugging Face Hub. Every row comes with its location.

Row = tuple[str, Any]  # (location, parsed row or the exception that stopped its parsing)


def read_rows(path: str, report: LoadReport, max_rows: int | None = None, hub_subset: str | None = None,
              hub_split: str = "train") -> Iterator[Row]:
    """Yield ``(location, row)`` for every record of ``path``.

    ``path`` is a local ``.json`` (array or JSON lines), ``.jsonl``, ``.parquet`` file, a folder of
    those, or else a Hugging Face Hub dataset id. A JSON-lines row that does not parse is reported as
    a rejection (``file:line: invalid JSON``) and skipped; the rest of the file still loads.
    """
    local = Path(path).expanduser()
    count = 0
    for location, row in _rows(local, path, report, hub_subset, hub_split):
        if max_rows is not None and count >= max_rows:
            return
        count += 1
        report.rows_read += 1
        yield location, row


def _rows(local: Path, path: str, report: LoadReport, hub_subset: str | None, hub_split: str) -> Iterator[Row]:
    if local.is_dir():
        files = sorted(p for p in local.iterdir() if p.suffix in (".json", ".jsonl", ".parquet"))
        if not files:
            raise DataError(f"{local}: folder holds no .json, .jsonl or .parquet file")
        for file in files:
            yield from _file_rows(file, report)
    elif local.exists():
        yield from _file_rows(local, report)
    elif path.startswith((".", "/", "~")) or Path(path).suffix in (".json", ".jsonl", ".parquet"):
        raise DataError(f"{path}: no such file or folder")
    else:
        yield from _hub_rows(path, hub_subset, hub_split)


def _file_rows(file: Path, report: LoadReport) -> Iterator[Row]:
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        for index, row in enumerate(pq.read_table(file).to_pylist()):
            yield f"{file}#{index}", row
        return
    text = file.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):  # one JSON array (the xlam file is one)
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{file}:{exc.lineno}: invalid JSON ({exc.msg}); the file cannot be read") from None
        for index, row in enumerate(rows):
            yield f"{file}#{index}", row
        return
    for lineno, line in enumerate(text.splitlines(), start=1):  # JSON lines
        if not line.strip():
            continue
        try:
            yield f"{file}:{lineno}", json.loads(line)
        except json.JSONDecodeError as exc:
            report.rows_read += 1
            report.reject(f"{file}:{lineno}", f"invalid JSON: {exc.msg} at column {exc.colno}")


def _hub_rows(dataset_id: str, subset: str | None, split: str) -> Iterator[Row]:
    try:
        import datasets

        dataset = datasets.load_dataset(dataset_id, subset, split=split)
    except Exception as exc:  # network, auth (xlam is gated), unknown id: say what to do instead
        raise DataError(
            f"could not load '{dataset_id}' from the Hugging Face Hub ({type(exc).__name__}: {exc}). "
            f"Gated datasets need `huggingface-cli login` and accepted terms; offline, download the file "
            f"elsewhere and pass its local path as data.path."
        ) from None
    for index, row in enumerate(dataset):
        yield f"hub:{dataset_id}#{index}", row


def convert_rows(config: DataConfig, report: LoadReport,
                 convert: Callable[[Any, str], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Read ``config.path`` and convert each row; a row ``convert`` rejects (``ValueError``) is reported
    with its location and reason, the rest are yielded."""
    for location, row in read_rows(config.path, report, config.max_rows, config.hub_subset, config.hub_split):
        try:
            example = convert(row, location)
        except ValueError as exc:
            report.reject(location, str(exc))
            continue
        report.converted += 1
        yield example


def canonical(example: dict[str, Any]) -> dict[str, Any]:
    """Return a converted example after checking it is canonical; a violation becomes the row's reason."""
    from fcray.data.schema import InvalidExample, validate_example

    try:
        validate_example(example)
    except InvalidExample as exc:
        raise ValueError(str(exc)) from None
    return example


def parse_json_field(value: Any, field: str) -> Any:
    """xlam stores ``tools`` and ``answers`` as JSON strings; accept already-parsed values too."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"field '{field}' is not valid JSON: {exc.msg} at column {exc.colno}") from None
    return value
