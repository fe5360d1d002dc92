from __future__ import annotations

import json
import random

import pytest

from fcray.config import AugmentConfig
from fcray.data.augment import (
    augment_split,
    builtin_chat_rows,
    make_irrelevance,
    make_multi_turn,
    make_slot_filling,
)
from fcray.data.schema import last_user_query, validate_example
from fcray.toolcall import DEFAULT_REGISTRY, Call


def _single(examples):
    return next(e for e in examples if e["category"] in ("single", "multiple"))


def test_irrelevance_removes_every_called_tool(synthetic_examples):
    pool = [t for e in synthetic_examples for t in e["tools"]]
    for example in synthetic_examples[:50]:
        new = make_irrelevance(example, pool, random.Random(0))
        validate_example(new)
        called = {c["name"] for c in example["ground_truth"]["calls"]}
        assert new["tools"] and not called & {t["function"]["name"] for t in new["tools"]}
        assert new["ground_truth"] == {"kind": "no_call"} and new["category"] == "irrelevance"
        assert "tool_calls" not in new["messages"][-1] and new["messages"][-1]["content"]
        assert last_user_query(new) == last_user_query(example) and new["id"] == example["id"] + "-irr"


def test_slot_filling_removes_a_required_argument_from_the_query(synthetic_examples):
    made = 0
    for example in synthetic_examples:
        new = make_slot_filling(example, random.Random(1))
        if new is None:
            continue
        made += 1
        validate_example(new)
        (missing,) = new["ground_truth"]["missing"]
        call = example["messages"][-1]["tool_calls"][0]["function"]
        span = example["meta"]["spans"][0][missing]
        assert span in last_user_query(example) and span not in last_user_query(new)
        schema = next(t["function"]["parameters"] for t in example["tools"] if t["function"]["name"] == call["name"])
        assert missing in schema["required"]
        assert missing.replace("_", " ") in new["messages"][-1]["content"]
        assert new["category"] == "slot_filling" and "spans" not in new["meta"]
    assert made > 100


def test_slot_filling_without_spans_replaces_the_verbatim_value():
    example = {
        "id": "x-1", "source": "xlam", "category": "single",
        "messages": [{"role": "user", "content": "What's the weather in Paris?"},
                     {"role": "assistant", "content": "", "tool_calls": [
                         {"type": "function", "function": {"name": "w", "arguments": {"city": "Paris"}}}]}],
        "tools": [{"type": "function", "function": {"name": "w", "description": "", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
        "ground_truth": {"kind": "call", "calls": [{"name": "w", "arguments": {"city": ["Paris"]}}]},
    }
    new = make_slot_filling(example, random.Random(0))
    assert last_user_query(new) == "What's the weather in a city?"
    assert new["ground_truth"] == {"kind": "ask", "missing": ["city"]}
    example["messages"][0]["content"] = "What's the weather there?"  # value not stated: not applicable
    assert make_slot_filling(example, random.Random(0)) is None


def test_multi_turn_has_call_result_answer_then_a_new_call(synthetic_examples):
    first, second = synthetic_examples[0], synthetic_examples[1]
    new = make_multi_turn(first, second)
    validate_example(new)
    roles = [m["role"] for m in new["messages"]]
    n_calls = len(first["ground_truth"]["calls"])
    assert roles == ["user", "assistant"] + ["tool"] * n_calls + ["assistant", "user", "assistant"]
    assert new["ground_truth"] == second["ground_truth"] and new["category"] == "multi_turn"
    assert new["messages"][-1] == second["messages"][-1]
    assert {t["function"]["name"] for t in first["tools"] + second["tools"]} == {t["function"]["name"] for t in new["tools"]}
    # the tool turns carry what the catalog's simulator returns, and the answer reports it
    calls = [c["function"] for c in first["messages"][1]["tool_calls"]]
    runs = [DEFAULT_REGISTRY.execute(Call(c["name"], c["arguments"]), first["tools"]) for c in calls]
    assert all(r.ok and r.simulated for r in runs)
    tool_turns = [m for m in new["messages"] if m["role"] == "tool"]
    assert [json.loads(m["content"]) for m in tool_turns] == [r.result for r in runs]
    summary = new["messages"][len(roles) - 3]["content"]
    assert all(m["content"] in summary for m in tool_turns)
    assert make_multi_turn(first, second) == new  # deterministic
    assert make_multi_turn(first, first) is None


def test_multi_turn_is_not_made_from_a_call_that_does_not_execute(synthetic_examples):
    first = json.loads(json.dumps(_single(synthetic_examples)))
    call = first["messages"][-1]["tool_calls"][0]["function"]
    city_like = next((k for k, v in call["arguments"].items() if isinstance(v, str)), None)
    call["arguments"][city_like] = "Atlantis-on-Sea 42"  # fits the schema, names nothing in the world
    assert make_multi_turn(first, synthetic_examples[1]) is None


def test_multi_turn_of_a_tool_without_a_simulator_shows_the_stub_result():
    from fcray.toolcall.execute import tool_result_for

    tool = {"type": "function", "function": {"name": "lookup", "description": "", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}

    def example(i, q):
        return {"id": f"x-{i}", "source": "xlam", "category": "single", "tools": [tool],
                "messages": [{"role": "user", "content": f"look up {q}"}, {"role": "assistant", "content": "",
                             "tool_calls": [{"type": "function", "function": {"name": "lookup", "arguments": {"q": q}}}]}],
                "ground_truth": {"kind": "call", "calls": [{"name": "lookup", "arguments": {"q": [q]}}]}}

    new = make_multi_turn(example(1, "a"), example(2, "b"))
    assert json.loads(new["messages"][2]["content"]) == tool_result_for({"name": "lookup", "arguments": {"q": "a"}})


def test_augment_split_reports_requested_and_made(synthetic_examples):
    config = AugmentConfig(irrelevance_ratio=0.1, slot_filling_ratio=0.2, multi_turn_ratio=0.1, chat_ratio=0.05)
    added, stats = augment_split(synthetic_examples, config, "train")
    assert stats["irrelevance"] == {"requested": 30, "made": 30}
    assert stats["slot_filling"] == {"requested": 60, "made": 60}
    assert stats["multi_turn"] == {"requested": 30, "made": 30}
    assert stats["chat"] == {"requested": 15, "made": 15}
    assert len(added) == 135 and len({e["id"] for e in added}) == 135
    for example in added:
        validate_example(example)
    again, _ = augment_split(synthetic_examples, config, "train")
    assert again == added  # seeded


def test_augmentation_shortfall_is_reported_not_hidden(synthetic_examples):
    no_calls = builtin_chat_rows(10, random.Random(0), "t")
    _, stats = augment_split(no_calls, AugmentConfig(irrelevance_ratio=0.5), "train")
    assert stats["irrelevance"] == {"requested": 5, "made": 0}


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_ratios_are_validated(ratio):
    from fcray.config import ConfigError

    with pytest.raises(ConfigError, match="data.augment.irrelevance_ratio: must be within"):
        AugmentConfig(irrelevance_ratio=ratio)


def test_renamed_rows_offer_and_call_their_tools_under_other_names_and_still_execute(synthetic_examples):
    from fcray.data.augment import rename_split
    from fcray.toolcall.names import name_aliases

    config = AugmentConfig(irrelevance_ratio=0.1, slot_filling_ratio=0.1, multi_turn_ratio=0.1)
    added, _ = augment_split(synthetic_examples, config, "train")
    rows = [*synthetic_examples, *added]
    real_names = {t["function"]["name"] for e in rows for t in e["tools"]}
    stats = rename_split(rows, 0.5, seed=1, split="train")
    assert stats == {"requested": round(0.5 * len(rows)), "made": round(0.5 * len(rows))}
    renamed = [e for e in rows if e["meta"].get("renamed")]
    assert len(renamed) == stats["made"]
    assert {e["category"] for e in renamed} >= {"single", "irrelevance", "slot_filling", "multi_turn"}
    for example in renamed:
        validate_example(example)
        mapping = example["meta"]["renamed"]
        assert all(new in name_aliases(old) and new not in real_names for old, new in mapping.items())
        assert {t["function"]["name"] for t in example["tools"]} == set(mapping.values())
        text = json.dumps([m for m in example["messages"] if m["role"] == "assistant"])
        assert not any(f'"{old}"' in text or f"{old} returned" in text for old in mapping)
        assert all(call["name"] in mapping.values() for call in example["ground_truth"].get("calls", []))
        for call in example["messages"][-1].get("tool_calls") or []:
            run = DEFAULT_REGISTRY.execute(Call(call["function"]["name"], call["function"]["arguments"]),
                                           example["tools"])
            assert run.ok and run.simulated, (example["id"], run)  # the simulator answers to the alias


def test_renaming_back_gives_the_row_as_it_was(synthetic_examples):
    from fcray.data.augment import rename_tools, with_tool_names

    for example in synthetic_examples[:50]:
        renamed = rename_tools(example, random.Random(0), reserved=set())
        inverse = {new: old for old, new in renamed["meta"]["renamed"].items()}
        assert with_tool_names(renamed, inverse) == example
