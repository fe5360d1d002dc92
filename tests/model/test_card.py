"""Model cards: the Hub's metadata, parsed back by huggingface_hub's own card parser, and a model-index
filled from fcray's eval results."""

from __future__ import annotations

import pytest

from fcray.model.card import add_eval_results, hub_datasets, hub_id, write_model_card


@pytest.mark.parametrize("name, expected", [
    ("Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B"), ("tiny", None), ("/abs/models/tiny", None), (None, None),
    ("org/name/extra", None), ("./local/x", None),
])
def test_hub_id(name, expected):
    assert hub_id(name) == expected


@pytest.mark.parametrize("source, path, expected", [
    ("xlam", None, ["Salesforce/xlam-function-calling-60k"]),
    ("xlam", "/data/xlam.json", []),                       # a local file is not a Hub dataset
    ("hermes", "NousResearch/hermes-function-calling-v1", ["NousResearch/hermes-function-calling-v1"]),
    ("synthetic", None, []),
])
def test_hub_datasets(source, path, expected):
    assert hub_datasets(source, path) == expected


def _results(exact: float) -> dict:
    return {"examples": 40, "backend": "hf", "metrics": {
        "exact_match": {"mean": exact, "low": 0.1, "high": 0.9, "n": 30}, "parse_rate": {"mean": 0.975, "n": 40},
        "irrelevance_accuracy": {"mean": 1.0, "n": 4}, "not_a_card_metric": {"mean": 3.0}}}


@pytest.mark.parametrize("stage, root_base, short", [("sft", "Qwen/Qwen3-0.6B", "SFT"), ("grpo", "tiny", "GRPO")])
def test_the_card_carries_hub_metadata_and_the_eval_results(tmp_path, stage, root_base, short):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    model = tmp_path / f"{stage}-run" / "model"
    model.mkdir(parents=True)
    write_model_card(model, stage, "/runs/previous/model", {"lr": 1e-3}, root_base,
                     ["Salesforce/xlam-function-calling-60k"], metrics={"loss": 1.0})
    card = ModelCard.load(model / "README.md")
    data = card.data
    assert (data.library_name, data.pipeline_tag, data.license) == ("transformers", "text-generation", "apache-2.0")
    assert data.datasets == ["Salesforce/xlam-function-calling-60k"] and short.lower() in data.tags
    assert data.base_model == (None if root_base == "tiny" else root_base)  # a local base is no Hub id
    assert f"({short})" in card.text and "## Recipe" in card.text and "/runs/previous/model" in card.text
    assert not data.eval_results

    assert add_eval_results(model, _results(0.5), "Salesforce/xlam-function-calling-60k")
    assert add_eval_results(model, _results(0.625), "Salesforce/xlam-function-calling-60k")  # replaces, not appends
    card = ModelCard.load(model / "README.md")
    name, results = model_index_to_eval_results(card.data.to_dict()["model-index"])
    assert name == f"{stage}-run"
    assert {r.metric_type: r.metric_value for r in results} == {
        "exact_match": 0.625, "parse_rate": 0.975, "irrelevance_accuracy": 1.0}
    assert {r.dataset_type for r in results} == {"Salesforce/xlam-function-calling-60k"}
    assert "## Recipe" in card.text  # the body is kept


def test_eval_results_leave_other_cards_alone(tmp_path):
    (tmp_path / "README.md").write_text("---\nlicense: mit\n---\n# someone else's model\n")
    assert not add_eval_results(tmp_path, _results(0.5), "x/y")
    assert not add_eval_results(tmp_path / "missing", _results(0.5), "x/y")
    assert "model-index" not in (tmp_path / "README.md").read_text()
