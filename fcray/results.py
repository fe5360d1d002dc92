"""The README's results table, generated from the demo's results file (``docs/results/embedded_default.json``).

``python -m fcray.results docs/results/embedded_default.json README.md`` rewrites the block between
``<!-- results-table:start -->`` and ``<!-- results-table:end -->``; a test fails when the two drift.

>>> print(results_table({"models": {"A": {"exact_match": 0.0}, "B": {"exact_match": 0.5}},
...                      "deltas": {"B-A": {"exact_match": [0.4, 0.5, 0.6]}}, "n_examples": 10,
...                      "date": "2026-12-01T00:00:00+00:00", "commit": "abc", "command": "fcray demo"}))
| metric | A | B | Δ B−A [95%] |
| --- | --- | --- | --- |
| exact match | 0.000 | 0.500 | +0.500 [+0.400, +0.600] |
<BLANKLINE>
10 held-out validation examples, `fcray demo` at commit `abc` on 2026-12-01.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

START, END = "<!-- results-table:start -->", "<!-- results-table:end -->"
# What the README shows (the results file has every metric; the report has the per-category tables).
README_METRICS = ("parse_rate", "schema_rate", "result_match", "name_accuracy", "args_f1", "exact_match",
                  "irrelevance_accuracy", "slot_filling_accuracy", "accuracy", "mean_reward")
MODEL_ORDER = ("A", "B", "C", "served C", "C GGUF Q8_0", "C GGUF Q4_K_M")


def _delta(interval: list[float] | None) -> str:
    if not interval:
        return "–"
    low, mean, high = interval
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def results_table(results: dict[str, Any]) -> str:
    models = [m for m in MODEL_ORDER if m in results["models"]]
    deltas = [d for d in ("B-A", "C-B", "C GGUF Q4_K_M-C") if d in results.get("deltas", {})]
    header = ["metric", *models, *(f"Δ {d.replace('-', '−')} [95%]" for d in deltas)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for metric in README_METRICS:
        if not any(metric in results["models"][m] for m in models):
            continue
        cells = [f"{results['models'][m][metric]:.3f}" if metric in results["models"][m] else "–" for m in models]
        cells += [_delta(results["deltas"][d].get(metric)) for d in deltas]
        lines.append(f"| {metric.replace('_', ' ')} | " + " | ".join(cells) + " |")
    lines += ["", f"{results['n_examples']} held-out validation examples, `{results['command']}` at commit "
                  f"`{results['commit']}` on {results['date'][:10]}."]
    return "\n".join(lines)


def update_readme(results_path: str | Path, readme_path: str | Path) -> bool:
    """Rewrite the README's generated block from ``results_path``; True when it changed."""
    readme = Path(readme_path).read_text()
    if START not in readme or END not in readme:
        raise ValueError(f"{readme_path} has no {START} ... {END} block")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    table = results_table(json.loads(Path(results_path).read_text()))
    new = f"{head}{START}\n{table}\n{END}{tail}"
    Path(readme_path).write_text(new)
    return new != readme


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m fcray.results RESULTS_JSON README_MD")
    print("updated" if update_readme(sys.argv[1], sys.argv[2]) else "unchanged")
