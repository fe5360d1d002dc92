"""The embedded default's data: fcray's seeded generator (fcray.synth)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fcray.config import DataConfig
from fcray.data.report import LoadReport
from fcray.data.schema import validate_example
from fcray.data.sources.base import register_source
from fcray.synth.generator import generate_examples


@register_source("synthetic")
class SyntheticSource:
    name = "synthetic"

    def load(self, config: DataConfig, report: LoadReport) -> Iterator[dict[str, Any]]:
        for example in generate_examples(config.num_examples, config.seed, config.max_tools_per_example):
            validate_example(example)  # a generator bug must fail loudly, not produce bad data
            report.rows_read += 1
            report.kept += 1
            yield example
