from __future__ import annotations

import pytest

from fcray.synth.catalog import CATALOG
from fcray.toolcall.names import name_aliases, name_words


@pytest.mark.parametrize("name, words", [
    ("get_weather", ["get", "weather"]),
    ("getStockPrice", ["get", "stock", "price"]),
    ("send-SMS", ["send", "sms"]),
    ("Search", ["search"]),
    ("", []),
])
def test_name_words(name, words):
    assert name_words(name) == words


def test_every_catalog_tool_has_several_aliases_that_are_valid_function_names():
    import re

    valid = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # OpenAI's function-name rule
    for spec in CATALOG:
        aliases = name_aliases(spec.name)
        assert len(aliases) >= 3 and spec.name not in aliases and len(set(aliases)) == len(aliases)
        assert all(valid.match(a) for a in aliases)
        assert all(name_words(a)[1:] == name_words(spec.name)[1:] for a in aliases)  # only the verb changes
