"""Reading and writing canonical examples: JSONL, parquet and Hugging Face ``datasets``.

Arrow needs one fixed schema per column, but tool JSON Schemas and argument values differ from row to
row (Arrow would merge them into one struct and invent ``null`` keys, changing the schemas). So the
parquet / ``datasets`` form keeps ``id``, ``source`` and ``category`` as plain columns and stores
``messages``, ``tools``, ``ground_truth`` and ``meta`` as JSON text; :func:`decode_row` restores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fcray.data.report import DataError
from fcray.data.schema import InvalidExample, validate_example

JSON_COLUMNS = ("messages", "tools", "ground_truth", "meta")


def encode_row(example: dict[str, Any]) -> dict[str, Any]:
    row = {k: example[k] for k in ("id", "source", "category")}
    for column in JSON_COLUMNS:
        row[column] = json.dumps(example.get(column, {}), ensure_ascii=False)
    return row


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`encode_row`; rows that are already decoded pass through unchanged."""
    if not isinstance(row, dict):
        raise TypeError(f"row must be an object, got {type(row).__name__}")
    example = dict(row)
    for column in JSON_COLUMNS:
        if isinstance(example.get(column), str):
            try:
                example[column] = json.loads(example[column])
            except json.JSONDecodeError as exc:
                raise ValueError(f"column '{column}' holds invalid JSON: {exc.msg}") from None
    if example.get("meta") is None:
        example.pop("meta", None)
    return example


def write_jsonl(examples: Iterable[dict[str, Any]], path: str | Path) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for example in examples:
            f.write(json.dumps(example, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_parquet(examples: list[dict[str, Any]], path: str | Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([encode_row(e) for e in examples]), path)


def to_hf_dataset(examples: list[dict[str, Any]]):
    """A ``datasets.Dataset`` in the encoded form (see the module docstring)."""
    import datasets

    return datasets.Dataset.from_list([encode_row(e) for e in examples])


def load_examples(path: str | Path) -> list[dict[str, Any]]:
    """Read canonical examples written by fcray (``.jsonl`` or ``.parquet``), validating each one.

    Any invalid row is an error naming the file and line: a stage must not train or evaluate on a
    silently shortened dataset.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file (run `fcray data` first, or pass the right path)")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = [(f"{path}#{i}", r) for i, r in enumerate(pq.read_table(path).to_pylist())]
    else:
        rows = []
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((f"{path}:{lineno}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
    examples = []
    for location, row in rows:
        try:
            example = decode_row(row)
            validate_example(example)
        except (InvalidExample, ValueError, TypeError) as exc:
            raise DataError(f"{location}: not a canonical example: {exc}") from None
        examples.append(example)
    return examples
