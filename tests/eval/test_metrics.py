"""Each metric on hand-made predictions with known answers, the per-category breakdown, and the intervals."""

from __future__ import annotations

import pytest

from fcray.eval.metrics import bootstrap, evaluate_completions, metric_values, paired_difference, summarize, verdict

from .conftest import COMPLETIONS, EXAMPLES


@pytest.fixture(scope="module")
def summary():
    _, summary = evaluate_completions([COMPLETIONS[e["id"]] for e in EXAMPLES], EXAMPLES)
    return summary


# metric -> expected mean, with the examples it averages over (4 call examples, 2 no-call, 1 ask)
EXPECTED = [
    ("parse_rate", 3 / 4, 4),            # "unparsed" fails
    ("schema_rate", 3 / 4, 4),           # the three parsed calls name offered tools with valid arguments
    ("execute_rate", 3 / 4, 4),          # no simulator for these tools: the stub runs every schema-valid call
    ("result_match", 1 / 4, 4),          # only "right" does what the reference call does (compared as calls)
    ("name_accuracy", 2 / 4, 4),         # right + wrong-value call get_weather
    ("exact_match", 1 / 4, 4),
    ("args_precision", (1 + 0.5) / 4, 4),  # wrong-value: unit right, city wrong
    ("args_recall", (1 + 0.5) / 4, 4),
    ("irrelevance_accuracy", 1 / 2, 2),
    ("slot_filling_accuracy", 1.0, 1),
    ("accuracy", 3 / 7, 7),              # right, irrelevant-ok, ask-ok
]


@pytest.mark.parametrize("metric,mean,n", EXPECTED)
def test_metric_on_known_predictions(summary, metric, mean, n):
    estimate = summary["metrics"][metric]
    assert estimate["n"] == n
    assert estimate["mean"] == pytest.approx(mean)
    assert estimate["low"] <= estimate["mean"] <= estimate["high"]


def test_breakdown_by_category(summary):
    by = summary["by_category"]
    assert set(by) == {"single", "multiple", "irrelevance", "slot_filling"}
    assert by["single"]["accuracy"] == {"mean": 0.5, "low": pytest.approx(0.0), "high": pytest.approx(1.0), "n": 2}
    assert by["multiple"]["parse_rate"]["mean"] == 0.5
    assert by["irrelevance"]["accuracy"]["mean"] == 0.5
    assert "parse_rate" not in by["irrelevance"]  # parsing is a call metric: not reported as 0 for no-call rows
    assert by["slot_filling"]["accuracy"]["mean"] == 1.0
    assert by["single"]["result_match"]["mean"] == 0.5 and "result_match" not in by["irrelevance"]


def test_a_verdict_scored_before_a_metric_existed_is_left_out_of_it():
    verdicts = [verdict(COMPLETIONS[e["id"]], e) for e in EXAMPLES]
    for v in verdicts[:2]:
        del v["result"]  # predictions written before the result component
    assert summarize(verdicts, EXAMPLES)["metrics"]["result_match"]["n"] == 2
    assert set(metric_values("result_match", verdicts, EXAMPLES)) == {"wrong-name", "unparsed"}


def test_metrics_with_no_example_are_left_out():
    calls_only = [e for e in EXAMPLES if e["ground_truth"]["kind"] == "call"]
    verdicts = [verdict(COMPLETIONS[e["id"]], e) for e in calls_only]
    metrics = summarize(verdicts, calls_only)["metrics"]
    assert "irrelevance_accuracy" not in metrics and "slot_filling_accuracy" not in metrics


def test_bootstrap_interval_is_seeded_and_shrinks_with_more_data():
    values = [1.0, 0.0] * 10
    a, b = bootstrap(values, seed=3), bootstrap(values, seed=3)
    assert a == b
    assert a.mean == 0.5 and a.low < 0.5 < a.high
    wide, narrow = bootstrap(values), bootstrap(values * 20)
    assert (narrow.high - narrow.low) < (wide.high - wide.low) / 3
    assert bootstrap([0.7] * 30).low == pytest.approx(0.7)  # no variance, no width
    with pytest.raises(ValueError):
        bootstrap([])


def test_paired_difference_separates_what_independent_intervals_cannot():
    # model b is right on 10 more of 200 examples, everything else equal: a small, consistent gain
    a = {str(i): float(i % 2) for i in range(200)}
    b = dict(a, **{str(i): 1.0 for i in range(0, 20, 2)})
    diff = paired_difference(a, b)
    assert diff.mean == pytest.approx(0.05) and diff.low > 0
    ia, ib = bootstrap(list(a.values())), bootstrap(list(b.values()))
    assert ia.high > ib.low  # the separate intervals overlap
    with pytest.raises(ValueError):
        paired_difference({"x": 1.0}, {"y": 1.0})


def test_metric_values_are_keyed_by_example_id():
    verdicts = [verdict(COMPLETIONS[e["id"]], e) for e in EXAMPLES]
    assert metric_values("irrelevance_accuracy", verdicts, EXAMPLES) == {"irrelevant-ok": 1.0, "irrelevant-called": 0.0}
