"""The pretraining corpus: deterministic, varied, and free of tool-call targets and held-out tools."""

from __future__ import annotations

from collections import Counter

import pytest

from fcray.synth.catalog import CATALOG
from fcray.synth.corpus import HELD_OUT_TOOLS, KINDS, document, documents, forbidden_strings

N = 3000


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, str]]:
    return [document(0, i) for i in range(N)]


def test_deterministic_and_sliceable(corpus):
    assert [document(0, i) for i in range(50)] == corpus[:50]
    assert list(documents(0, 10, start=100)) == [text for _, text in corpus[100:110]]
    assert [document(1, i) for i in range(20)] != corpus[:20]


def test_every_kind_in_its_share(corpus):
    counts = Counter(kind for kind, _ in corpus)
    for kind, share in KINDS.items():
        assert abs(counts[kind] / N - share) < 0.03, (kind, counts[kind] / N, share)


@pytest.mark.parametrize("forbidden", forbidden_strings())
def test_no_call_targets_and_no_held_out_tool(corpus, forbidden):
    hits = [text for _, text in corpus if forbidden in text]
    assert not hits, f"{forbidden!r} in the pretraining corpus, e.g. {hits[0][:200]!r}"


def test_held_out_intents_and_descriptions_absent(corpus):
    held_out_text = {t.description for t in HELD_OUT_TOOLS} | {i for t in HELD_OUT_TOOLS for i in t.intents}
    # intents shared with a training tool are not the held-out tool's own words
    held_out_text -= {i for t in CATALOG if not t.holdout for i in t.intents}
    lowered = [text.lower() for _, text in corpus]
    for phrase in held_out_text:
        assert not any(phrase.lower() in text for text in lowered), phrase


def test_lookup_answers_name_a_listed_entry_or_none():
    import json
    import random
    import re

    from fcray.synth.corpus import lookup

    catalog_names = {t.name for t in CATALOG}
    answers = Counter()
    for i in range(300):
        text = lookup(random.Random(i))
        assert not any(f in text for f in forbidden_strings()), text
        head = text.split("\nRequest: ")[0].removeprefix("Services:\n")
        listed = ([e["name"] for e in json.loads(head)] if head.startswith("[")
                  else re.findall(r"^- ([^:]+):", head, flags=re.M))
        assert 2 <= len(listed) <= 4 and not set(listed) & catalog_names, text
        for answer in re.findall(r"^Handled by: (.+)$", text, flags=re.M):
            assert answer in listed or answer == "none of them", (answer, text)
            answers["none" if answer == "none of them" else "listed"] += 1
    assert 0.15 < answers["none"] / sum(answers.values()) < 0.35, answers
