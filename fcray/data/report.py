"""Accounting for a load: every source row is kept, converted, or rejected with a reason and a location.

Nothing is dropped silently. Loaders call :meth:`LoadReport.reject` with the row's location
(``file:line`` or ``file#record-id``) and a reason; the summary groups rejections by reason and
``strict`` turns the first rejection into a :class:`DataError`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


class DataError(ValueError):
    """Data could not be loaded; the message names the file, row and reason."""


@dataclass
class Rejection:
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass
class LoadReport:
    source: str
    strict: bool = False
    rows_read: int = 0
    kept: int = 0            # rows already in canonical form
    converted: int = 0       # rows converted from another format
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, location: str, reason: str) -> None:
        rejection = Rejection(location, reason)
        if self.strict:
            raise DataError(f"rejected {rejection} (strict mode: fix the row or drop --strict)")
        self.rejections.append(rejection)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def reasons(self) -> Counter[str]:
        # Group by the reason's first clause so "unknown tool 'a'" and "unknown tool 'b'" count together.
        return Counter(r.reason.split(":")[0].split(" '")[0] for r in self.rejections)

    def summary(self, show: int = 10) -> str:
        lines = [
            f"{self.source}: read {self.rows_read} rows — kept {self.kept}, converted {self.converted}, "
            f"rejected {self.rejected}"
        ]
        for reason, count in self.reasons().most_common():
            lines.append(f"  rejected {count:>6} × {reason}")
        for rejection in self.rejections[:show]:
            lines.append(f"    e.g. {rejection}")
        if self.rejected > show:
            lines.append(f"    … {self.rejected - show} more in rejected.jsonl")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "kept": self.kept,
            "converted": self.converted,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.reasons()),
        }
