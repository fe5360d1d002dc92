from __future__ import annotations

import json
from collections import Counter

from fcray.data.schema import validate_example
from fcray.synth.catalog import CATALOG
from fcray.synth.generator import generate_examples
from fcray.toolcall.match import _leaves as _flatten


def test_generator_is_deterministic():
    assert generate_examples(200, seed=11) == generate_examples(200, seed=11)
    assert generate_examples(200, seed=11) != generate_examples(200, seed=12)


def test_examples_are_canonical_and_cover_every_category():
    examples = generate_examples(1000, seed=2)
    for example in examples:
        validate_example(example)
    counts = Counter(e["category"] for e in examples)
    assert set(counts) == {"single", "multiple", "parallel", "parallel_multiple"}
    assert min(counts.values()) > 80


def test_every_argument_value_is_stated_in_the_query():
    from fcray.synth.generator import _NUMBER_WORDS as number_words

    for example in generate_examples(500, seed=4):
        query = example["messages"][0]["content"]
        for call, spans in zip(example["messages"][1]["tool_calls"], example["meta"]["spans"]):
            assert set(call["function"]["arguments"]) == set(spans)
            for name, value in call["function"]["arguments"].items():
                assert spans[name] in query
                for leaf in _flatten(value):
                    if isinstance(leaf, bool):
                        continue  # stated by a phrase ("with breakfast"), checked through spans
                    stated = str(leaf) in spans[name] or (isinstance(leaf, int) and number_words[leaf] in spans[name]
                                                           if isinstance(leaf, int) and leaf <= 10 else False)
                    assert stated, (query, name, value)


def test_catalog_is_rich():
    kinds = Counter()
    for tool in CATALOG:
        for param in tool.params:
            kinds[param.kind] += 1
            kinds["optional" if not param.required else "required"] += 1
    assert len(CATALOG) >= 40 and len({t.name for t in CATALOG}) == len(CATALOG)
    for kind in ("string", "enum", "integer", "number", "boolean", "array", "object", "optional", "required"):
        assert kinds[kind] >= 2, kind
    assert sum(t.holdout for t in CATALOG) >= 4


def test_holdout_tools_only_in_holdout_examples():
    holdout = {t.name for t in CATALOG if t.holdout}
    examples = generate_examples(800, seed=6, holdout_share=0.05)
    for example in examples:
        names = {t["function"]["name"] for t in example["tools"]}
        called = {c["name"] for c in example["ground_truth"]["calls"]}
        if example["meta"]["holdout"]:
            assert called <= holdout
        else:
            assert not names & holdout
    assert sum(e["meta"]["holdout"] for e in examples) == 40


def test_schemas_are_json_schema_with_nested_objects_and_arrays():
    tools = {t.name: t.openai_tool() for t in CATALOG}
    address = tools["order_food"]["function"]["parameters"]["properties"]["address"]
    assert address["type"] == "object" and set(address["required"]) == {"street", "zip"}
    assert tools["send_email"]["function"]["parameters"]["properties"]["cc"]["type"] == "array"
    json.dumps(tools)  # serialisable
