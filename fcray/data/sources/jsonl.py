"""Plain JSONL (or parquet written by fcray) already in the canonical schema (see fcray.data.schema)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fcray.config import DataConfig
from fcray.data.io import decode_row
from fcray.data.report import LoadReport
from fcray.data.schema import InvalidExample, validate_example
from fcray.data.sources.base import read_rows, register_source


@register_source("jsonl")
class CanonicalJsonlSource:
    name = "jsonl"

    def load(self, config: DataConfig, report: LoadReport) -> Iterator[dict[str, Any]]:
        seen: dict[str, str] = {}
        for location, row in read_rows(config.path, report, config.max_rows):
            try:
                example = decode_row(row)
                validate_example(example)
            except (InvalidExample, ValueError, TypeError) as exc:
                report.reject(location, f"not a canonical example: {exc}")
                continue
            if example["id"] in seen:
                report.reject(location, f"duplicate id '{example['id']}' (first at {seen[example['id']]})")
                continue
            seen[example["id"]] = location
            report.kept += 1
            yield example
