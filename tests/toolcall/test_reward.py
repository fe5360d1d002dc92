from __future__ import annotations

import json

import pytest

from fcray.data.io import encode_row
from fcray.toolcall.reward import (
    COMPONENTS,
    composite,
    get_reward,
    judge,
    make_trl_reward,
    trl_reward_funcs,
)

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city"]}}},
         {"type": "function", "function": {"name": "get_time", "description": "", "parameters": {
             "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}]


def example(truth, query="Weather in Oslo, in c?"):
    return {"id": "e", "source": "t", "category": "single", "tools": TOOLS, "ground_truth": truth,
            "messages": [{"role": "user", "content": query}, {"role": "assistant", "content": ""}]}


CALL_EX = example({"kind": "call", "calls": [{"name": "get_weather", "arguments": {"city": ["Oslo"], "unit": ["c", ""]}}]})
NO_CALL_EX = example({"kind": "no_call"}, "Tell me a joke")
ASK_EX = example({"kind": "ask", "missing": ["city"]}, "What's the weather?")


def tc(name, args):
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': args})}\n</tool_call>"


# (completion, example, expected component values)
CASES = [
    (tc("get_weather", {"city": "Oslo", "unit": "c"}), CALL_EX,
     {"parse": 1, "schema": 1, "execute": 1, "result": 1, "match": 1, "args_f1": 1, "no_call_penalty": 0,
      "ask_penalty": 0}),
    (tc("get_weather", {"city": "Rome"}), CALL_EX, {"parse": 1, "schema": 1, "execute": 1, "result": 0, "match": 0,
                                                    "name": 1}),
    (tc("get_weather", {"city": "Oslo", "unit": "k"}), CALL_EX, {"parse": 1, "schema": 0, "execute": 0, "result": 0,
                                                                 "match": 0}),
    (tc("get_weather", {"city": "Oslo"}) + "\n" + tc("get_weather", {"town": "x"}), CALL_EX,
     {"parse": 1, "schema": 0.5, "execute": 0.5, "match": 0}),
    (tc("get_time", {"zone": "UTC"}), CALL_EX, {"parse": 1, "schema": 1, "execute": 1, "match": 0, "args_f1": 0,
                                                "name": 0}),
    ("<tool_call>\n{oops}\n</tool_call>", CALL_EX, {"parse": 0, "schema": 0, "execute": 0, "match": 0, "args_f1": 0,
                                                    "name": 0}),
    ("It is sunny.", CALL_EX, {"parse": 0, "schema": 0, "execute": 0, "result": 0, "match": 0}),
    ("Sorry, I can't help with jokes.", NO_CALL_EX,
     {"parse": 1, "schema": 1, "execute": 1, "result": 1, "match": 1, "args_f1": 1, "name": 1, "no_call_penalty": 0}),
    (tc("get_time", {"zone": "UTC"}), NO_CALL_EX,
     {"parse": 0, "schema": 0, "execute": 0, "result": 0, "match": 0, "args_f1": 0, "no_call_penalty": -1}),
    ("<tool_call>\nbroken", NO_CALL_EX, {"parse": 0, "match": 0, "no_call_penalty": 0}),
    ("Which city do you mean?", ASK_EX, {"parse": 1, "result": 1, "match": 1, "ask_penalty": 0}),
    ("It is sunny everywhere.", ASK_EX, {"parse": 1, "match": 0, "ask_penalty": -1}),
    (tc("get_weather", {"city": "Oslo"}), ASK_EX, {"parse": 0, "match": 0, "ask_penalty": -1}),
]


@pytest.mark.parametrize(("completion", "ex", "expected"), CASES)
def test_components_table(completion, ex, expected):
    for name, value in expected.items():
        score = COMPONENTS[name](completion, ex)
        assert score.value == pytest.approx(value), (name, score)
    judgement = judge(completion, ex)
    for name, value in expected.items():
        assert judgement.scores[name].value == pytest.approx(value), name  # judge == the components


def test_composite_uses_weights():
    bad_enum = tc("get_weather", {"city": "Oslo", "unit": "k"})
    assert composite(bad_enum, CALL_EX) == pytest.approx(0.25)  # only parse passes
    assert composite(bad_enum, CALL_EX, {"parse": 1.0, "match": 3.0}) == pytest.approx(1.0)
    assert composite(tc("get_time", {"zone": "UTC"}), NO_CALL_EX, {"match": 1.0, "no_call_penalty": 0.5}) == -0.5


def test_judge_breakdown_is_loggable():
    out = judge(tc("get_weather", {"city": "Oslo"}), CALL_EX).to_dict()
    json.dumps(out)
    assert out["reward"] == 1.0 and out["parse_status"] == "ok" and out["calls"][0]["name"] == "get_weather"
    assert out["args_f1"] == 1.0 and out["name_correct"] is True
    failed = judge("It is sunny.", CALL_EX).to_dict()
    assert failed["reasons"]["parse"] == "no_call"


def test_trl_adapters_read_canonical_columns():
    rows = [encode_row(e) for e in (CALL_EX, NO_CALL_EX)]
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    completions = [tc("get_weather", {"city": "Oslo"}), "No tool fits."]
    reward = make_trl_reward("composite")
    assert reward(["p1", "p2"], completions, **columns) == [1.0, 1.0]
    # TRL's conversational format: each completion is a list of messages.
    conversational = [[{"role": "assistant", "content": c}] for c in completions]
    assert get_reward("match")(["p1", "p2"], conversational, **columns) == [1.0, 1.0]
    funcs, weights = trl_reward_funcs({"parse": 0.25, "match": 0.75})
    assert [f.__name__ for f in funcs] == ["fcray_parse", "fcray_match"] and weights == [0.25, 0.75]
    with pytest.raises(KeyError, match="needs the dataset column 'ground_truth'"):
        reward(["p"], ["x"], tools=columns["tools"])


def test_unknown_reward_names_are_errors():
    with pytest.raises(KeyError, match="unknown reward 'fromat'"):
        get_reward("fromat")
    with pytest.raises(KeyError, match=r"unknown reward component\(s\) \['fromat'\]"):
        make_trl_reward("composite", {"fromat": 1.0})


def test_every_component_is_registered_once_with_one_signature_and_a_doctest():
    import inspect

    for name, fn in COMPONENTS.items():
        assert list(inspect.signature(fn).parameters) == ["completion", "example", "context"], name
        assert ">>> " in (fn.__doc__ or ""), f"{name} has no doctest"
    from fcray.toolcall.reward import component

    with pytest.raises(ValueError, match="registered twice"):
        component("parse")(lambda completion, example, context=None: None)


def test_a_custom_component_by_dotted_path(tmp_path, monkeypatch):
    (tmp_path / "my_rewards.py").write_text(
        "def brevity(completion, example, context=None):\n    return 1.0 if len(str(completion)) < 500 else 0.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    short = tc("get_weather", {"city": "Oslo"})
    assert judge(short, CALL_EX, {"match": 1.0, "my_rewards:brevity": 0.5}).reward == pytest.approx(1.5)
    funcs, weights = trl_reward_funcs({"my_rewards.brevity": 1.0})
    rows = [encode_row(CALL_EX)]
    assert funcs[0](["p"], [short], **{k: [r[k] for r in rows] for k in rows[0]}) == [1.0]
    with pytest.raises(KeyError, match="cannot import"):
        trl_reward_funcs({"my_rewards:missing": 1.0})


def test_result_compares_the_results_of_the_calls_as_multisets():
    from fcray.toolcall import ToolRegistry
    from fcray.toolcall.reward import Context, result_score
    from fcray.toolcall.parse import as_parsed

    # in-process (a lambda); get_weather simulated: the unit does not change the (made-up) result
    registry = ToolRegistry(sandbox=False)
    registry.register("get_weather", lambda city, unit="c": {"city": city.title(), "sky": "clear"})
    truth = {"kind": "call", "calls": [{"name": "get_weather", "arguments": {"city": ["Oslo"], "unit": ["", "c"]}},
                                       {"name": "get_weather", "arguments": {"city": ["Rome"], "unit": [""]}}]}
    ex = {**example(truth), "category": "parallel"}

    def score(*calls):
        completion = "\n".join(tc("get_weather", c) for c in calls)
        return result_score(completion, ex, Context(as_parsed(completion), ex, registry))

    assert score({"city": "Rome"}, {"city": "oslo", "unit": "f"}).value == 1.0  # any order, same results
    assert score({"city": "Rome"}).value == 0.5
    assert score({"city": "Rome"}, {"city": "Rome"}).value == 0.5  # a multiset: one Rome matches one Rome
    assert score({"city": "Rome"}, {"city": "Oslo"}, {"city": "Oslo"}).value == pytest.approx(2 / 3)
    assert score({"city": "Rome"}, {"city": "Oslo"}).reason == "2/2 results match"
    assert score({"city": "Rome"}, {"town": "Oslo"}).value == 0.5  # a call that does not execute matches nothing


def test_result_names_the_tools_it_could_only_compare_as_calls_and_a_failing_reference():
    from fcray.toolcall import ToolError, ToolRegistry
    from fcray.toolcall.reward import Context, result_score
    from fcray.toolcall.parse import as_parsed

    completion = tc("get_weather", {"city": "Oslo", "unit": "c"})
    stub = result_score(completion, CALL_EX)
    assert stub.value == 1.0 and stub.reason == "no implementation for 'get_weather': compared calls; 1/1 results match"
    # with the stub, the call must be the reference call itself
    assert result_score(tc("get_weather", {"city": "Oslo"}), CALL_EX).value == 0.0

    registry = ToolRegistry(sandbox=False)

    def rejects(city, unit="c"):
        raise ToolError(f"city: unknown city '{city}'")

    registry.register("get_weather", rejects)
    failing = result_score(completion, CALL_EX, Context(as_parsed(completion), CALL_EX, registry))
    assert failing.value == 0.0
    assert failing.reason == "reference call 'get_weather' does not execute (rejected: city: unknown city 'Oslo')"


def test_reference_calls_rebuild_the_reference_turn():
    from fcray.data.schema import ground_truth_for
    from fcray.synth.generator import generate_examples
    from fcray.toolcall import reference_calls

    for ex in generate_examples(300, seed=9):
        expected = [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                    for c in ex["messages"][-1]["tool_calls"]]
        assert [c.to_dict() for c in reference_calls(ex["ground_truth"])] == expected
        assert ground_truth_for(expected, ex["tools"]) == ex["ground_truth"]
