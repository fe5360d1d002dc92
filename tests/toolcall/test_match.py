from __future__ import annotations

import pytest

from fcray.toolcall.match import asks_for, call_metrics, match_calls, standardize
from fcray.toolcall.parse import Call

PARAMS = {
    "weather": {"type": "object", "properties": {
        "city": {"type": "string"}, "days": {"type": "integer"}, "temp": {"type": "number"},
        "unit": {"type": "string", "enum": ["c", "f"]}, "alerts": {"type": "boolean"},
        "points": {"type": "array", "items": {"type": "number"}},
        "opt_points": {"type": "array", "items": {"type": "number"}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "loc": {"type": "object"},
        "stops": {"type": "array", "items": {"type": "object"}},
        "anything": {"type": "any"}},
        "required": ["city"]},
    "news": {"type": "dict", "properties": {"topic": {"type": "string"}, "limit": {"type": "float"}}, "required": ["topic"]},
}
TRUTH = {"name": "weather", "arguments": {
    "city": ["San Francisco", "SF"], "days": [3], "temp": [20.0], "unit": ["c", ""], "alerts": [True, ""],
    "points": [[1.0, 2.5]], "opt_points": ["", [1.0, 2.0]], "tags": [["Rain", "wind"], ""],
    "loc": [{"lat": [1.0], "zone": ["Pacific", ""]}, ""], "stops": [[{"name": ["A"]}, {"name": ["B"]}], ""],
    "anything": ["x", ""]}}
BASE = {"city": "San Francisco", "days": 3, "temp": 20.0, "points": [1.0, 2.5]}


def verdict(arguments, name="weather"):
    return match_calls([Call(name, arguments)], [TRUTH], PARAMS)


@pytest.mark.parametrize(
    ("change", "valid", "error_type"),
    [
        ({}, True, ""),
        ({"city": "san-francisco"}, True, ""),           # case and punctuation are normalised
        ({"city": "SAN FRANCISCO."}, True, ""),
        ({"city": "sf"}, True, ""),                       # any acceptable value
        ({"city": "Oakland"}, False, "value_error"),
        ({"temp": 20}, True, ""),                         # int accepted for a float at the top level
        ({"days": 3.0}, False, "type_error"),             # but not a float for an int
        ({"days": True}, False, "type_error"),            # a bool is not an int
        ({"days": "3"}, False, "type_error"),
        ({"points": [1, 2.5]}, False, "type_error"),      # int not accepted inside a float array ...
        ({"opt_points": [1, 2]}, True, ""),               # ... unless the array may be omitted (BFCL quirk)
        ({"opt_points": []}, True, ""),                   # "" counts as [] for lists (BFCL quirk)
        ({"unit": "c"}, True, ""),
        ({"unit": "f"}, False, "value_error"),
        ({"alerts": True}, True, ""),
        ({"alerts": 1}, False, "type_error"),
        ({"tags": ["rain", "WIND"]}, True, ""),
        ({"tags": ["wind", "rain"]}, False, "value_error"),  # list order matters
        ({"loc": {"lat": 1.0}}, True, ""),
        ({"loc": {"lat": 1.0, "zone": "pacific"}}, True, ""),
        ({"loc": {"lat": 2.0}}, False, "value_error"),
        ({"loc": {"lat": 1.0, "x": 1}}, False, "value_error"),
        ({"loc": {"zone": "Pacific"}}, False, "value_error"),
        ({"stops": [{"name": "a"}, {"name": "b"}]}, True, ""),
        ({"stops": [{"name": "a"}]}, False, "value_error"),
        ({"anything": "X"}, True, ""),
        ({"anything": 5}, False, "type_error"),           # BFCL checks "any" as a string
        ({"extra": 1}, False, "unexpected_param"),
    ],
)
def test_value_rules(change, valid, error_type):
    result = verdict({**BASE, **change})
    assert (result.valid, result.error_type) == (valid, error_type), result.detail


@pytest.mark.parametrize(
    ("arguments", "error_type"),
    [
        ({"days": 3, "temp": 20.0, "points": [1.0, 2.5]}, "missing_required"),
        ({"city": "SF", "temp": 20.0, "points": [1.0, 2.5]}, "missing_optional"),  # expected and not omittable
    ],
)
def test_missing_arguments(arguments, error_type):
    assert verdict(arguments).error_type == error_type


def test_wrong_function_and_count():
    assert verdict(BASE, name="news").error_type == "wrong_func_name"
    assert match_calls([], [TRUTH], PARAMS).error_type == "wrong_count"
    assert match_calls([Call("weather", BASE)] * 2, [TRUTH], PARAMS).error_type == "wrong_count"


def test_parallel_calls_match_in_any_order():
    truth = [{"name": "news", "arguments": {"topic": ["space"], "limit": [5.0, ""]}},
             {"name": "news", "arguments": {"topic": ["art"], "limit": [""]}}]
    a, b = Call("news", {"topic": "Space", "limit": 5}), Call("news", {"topic": "art"})
    assert match_calls([a, b], truth, PARAMS).valid and match_calls([b, a], truth, PARAMS).valid
    bad = match_calls([a, Call("news", {"topic": "art", "limit": 1.0})], truth, PARAMS)
    assert not bad.valid and "expected call 2" in bad.detail


def test_standardize_matches_bfcl():
    assert standardize("April 1, 2024") == standardize("april 1 2024") == "april12024"
    assert standardize("it's") == 'it"s'


@pytest.mark.parametrize(
    ("content", "missing", "asks"),
    [
        ("Could you tell me the city?", ["city"], True),
        ("Which currency should I convert from?", ["from_currency"], True),
        ("What is the check in date?", ["check_in"], True),
        ("Sure, done.", ["city"], False),
        ("", ["city"], False),
        ("Which city and how many nights?", ["city", "nights"], True),
        ("Which city?", ["city", "nights"], False),
    ],
)
def test_asks_for(content, missing, asks):
    assert asks_for(content, missing) is asks


def test_call_metrics_precision_recall_and_hallucination():
    truth = [{"name": "news", "arguments": {"topic": ["space"], "limit": [5.0, ""]}}]
    context = "Give me 5 space headlines"
    perfect = call_metrics([Call("news", {"topic": "space", "limit": 5})], truth, PARAMS, context)
    assert perfect.name_correct and (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    assert perfect.hallucinated == 0
    partial = call_metrics([Call("news", {"topic": "sports", "limit": 5, "lang": "fr"})], truth, PARAMS, context)
    assert partial.args_true_positive == 1 and partial.args_predicted == 3 and partial.args_expected == 2
    assert partial.precision == pytest.approx(1 / 3) and partial.recall == pytest.approx(1 / 2)
    assert partial.hallucinated == 2  # "sports" and "fr" appear nowhere in the context
    wrong_name = call_metrics([Call("weather", {"city": "x"})], truth, PARAMS, context)
    assert not wrong_name.name_correct and wrong_name.args_true_positive == 0 and wrong_name.f1 == 0.0
    nothing = call_metrics([], truth, PARAMS, context)
    assert nothing.recall == 0.0 and nothing.precision == 0.0
