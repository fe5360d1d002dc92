"""The examples in fcray's docstrings run (each module that has one)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fcray"
WITH_EXAMPLES = sorted(".".join(("fcray", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
                       for p in PACKAGE.rglob("*.py") if ">>> " in p.read_text())


@pytest.mark.parametrize("module", WITH_EXAMPLES)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
