from __future__ import annotations

import copy
import random

from fcray.data.split import query_key, split_examples
from fcray.synth.generator import generate_examples


def _ids(examples):
    return [e["id"] for e in examples]


def test_split_is_deterministic_and_order_independent():
    examples = generate_examples(600, seed=3)
    train, val = split_examples(examples, 0.1, seed=42)
    again_train, again_val = split_examples(copy.deepcopy(examples), 0.1, seed=42)
    assert _ids(train) == _ids(again_train) and _ids(val) == _ids(again_val)
    shuffled = examples[:]
    random.Random(0).shuffle(shuffled)
    s_train, s_val = split_examples(shuffled, 0.1, seed=42)
    assert set(_ids(s_val)) == set(_ids(val)) and set(_ids(s_train)) == set(_ids(train))
    other_train, other_val = split_examples(examples, 0.1, seed=7)
    assert set(_ids(other_val)) != set(_ids(val))  # the seed matters


def test_split_is_roughly_90_10_and_partitions():
    examples = [e for e in generate_examples(3000, seed=1, holdout_share=0.0)]
    train, val = split_examples(examples, 0.1, seed=42)
    assert len(train) + len(val) == len(examples)
    assert set(_ids(train)).isdisjoint(_ids(val))
    assert 0.08 <= len(val) / len(examples) <= 0.12


def test_same_query_never_crosses_the_split():
    examples = generate_examples(400, seed=5, holdout_share=0.0)
    # Duplicate queries with different tools/ids, differing only in case and spacing.
    dupes = []
    for i, e in enumerate(examples[:200]):
        d = copy.deepcopy(e)
        d["id"] += "-dup"
        d["messages"][0]["content"] = "  " + e["messages"][0]["content"].upper().replace(" ", "   ") + " "
        dupes.append(d)
    train, val = split_examples(examples + dupes, 0.1, seed=42)
    train_keys = {query_key(e) for e in train}
    assert not train_keys & {query_key(e) for e in val}
    val_ids = set(_ids(val))
    assert all((d["id"] in val_ids) == (d["id"][:-4] in val_ids) for d in dupes)


def test_holdout_examples_and_their_queries_go_to_validation():
    examples = generate_examples(400, seed=9, holdout_share=0.1)
    held = [e for e in examples if e["meta"]["holdout"]]
    twin = copy.deepcopy(examples[0])
    twin["id"] = "twin"
    twin["messages"][0]["content"] = held[0]["messages"][0]["content"]
    twin["meta"]["holdout"] = False
    train, val = split_examples(examples + [twin], 0.1, seed=42)
    val_ids = set(_ids(val))
    assert all(e["id"] in val_ids for e in held) and "twin" in val_ids
    holdout_names = {c["name"] for e in held for c in e["ground_truth"]["calls"]}
    assert not any(t["function"]["name"] in holdout_names for e in train for t in e["tools"])
