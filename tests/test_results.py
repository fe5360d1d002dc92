"""The README's results table is the rendering of the committed results file, never hand-edited."""

from __future__ import annotations

import json
from pathlib import Path

from fcray.results import END, START, results_table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results" / "embedded_default.json"


def test_the_readme_table_is_generated_from_the_results_file():
    results = json.loads(RESULTS.read_text())
    for key in ("models", "deltas", "n_examples", "command", "commit", "date", "machine"):
        assert key in results, f"{RESULTS} lacks '{key}'"
    assert {"A", "B", "C"} <= set(results["models"]) and {"B-A", "C-B"} <= set(results["deltas"])
    readme = (REPO / "README.md").read_text()
    block = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == results_table(results), (
        "README's results table differs from docs/results/embedded_default.json: run "
        "`python -m fcray.results docs/results/embedded_default.json README.md`")
