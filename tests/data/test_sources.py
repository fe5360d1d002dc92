"""xlam, hermes and canonical-JSONL sources on local files shaped like the real records."""

from __future__ import annotations

import json

import pytest

from fcray.config import DataConfig
from fcray.data.pipeline import load_source
from fcray.data.report import DataError, LoadReport
from fcray.data.schema import validate_example
from fcray.data.sources import available_sources, get_source
from fcray.config import ConfigError


def _load(source, path, **kw):
    return load_source(DataConfig(source=source, path=str(path), **kw))


def test_registry_names_every_source_and_rejects_unknown():
    assert {"synthetic", "xlam", "hermes", "jsonl"} <= set(available_sources())
    with pytest.raises(ConfigError, match="unknown source 'csv'; available: hermes, jsonl, synthetic, xlam"):
        get_source("csv")


def test_xlam_converts_every_row(fixtures_dir):
    examples, report = _load("xlam", fixtures_dir / "xlam_sample.json")
    assert (report.rows_read, report.converted, report.rejected) == (8, 8, 0)
    by_id = {e["id"]: e for e in examples}
    for example in examples:
        validate_example(example)
    # Record 0: parallel calls of one tool; "str" with a default is optional, default kept.
    ex0 = by_id["xlam-0"]
    assert ex0["category"] == "parallel"
    params = ex0["tools"][0]["function"]["parameters"]
    assert params["required"] == [] and params["properties"]["type"]["default"] == "game"
    assert ex0["messages"][0] == {"role": "user", "content": "Where can I find live giveaways for beta access and games?"}
    assert [c["function"]["arguments"] for c in ex0["messages"][1]["tool_calls"]] == [{"type": "beta"}, {"type": "game"}]
    assert ex0["ground_truth"]["calls"][1]["arguments"]["type"] == ["game", ""]  # given at its default: may be omitted
    # Record 1: one of two tools called; the unused optional argument may be omitted or take its default.
    assert by_id["xlam-1"]["category"] == "multiple"
    # Record 3: two different tools (parallel_multiple), Dict types become objects.
    assert by_id["xlam-3"]["category"] == "parallel_multiple"
    assert by_id["xlam-3"]["tools"][0]["function"]["parameters"]["properties"]["dict1"]["type"] == "object"
    # Record 5: optional forms and an omitted optional list.
    truth = by_id["xlam-5"]["ground_truth"]["calls"][0]["arguments"]
    assert truth["query"] == ["yoga mat"] and truth["page"] == [2] and truth["tags"] == [""]
    assert by_id["xlam-5"]["tools"][0]["function"]["parameters"]["required"] == []


def test_xlam_rejections_have_location_and_reason(fixtures_dir):
    path = fixtures_dir / "xlam_bad.json"
    examples, report = _load("xlam", path)
    assert [e["id"] for e in examples] == ["xlam-7"]
    assert (report.rows_read, report.converted, report.rejected) == (7, 1, 6)
    reasons = {r.location.rsplit("#", 1)[1]: r.reason for r in report.rejections}
    assert reasons["1"].startswith("field 'tools' is not valid JSON")
    assert reasons["2"] == "tool #0 has no name"
    assert reasons["3"].startswith("answer names unknown tool 'g'")
    assert reasons["4"].startswith("schema type cannot be converted: tool 'integrate': parameter 'function'")
    assert "reference call does not satisfy its tool's schema: 'f' x: 'seven' is not of type 'integer'" in reasons["5"]
    assert reasons["6"] == "missing field 'query'"
    assert all(r.location.startswith(str(path) + "#") for r in report.rejections)
    summary = report.summary()
    assert "read 7 rows — kept 0, converted 1, rejected 6" in summary
    assert "rejected      1 × answer names unknown tool" in summary


def test_strict_mode_fails_on_first_rejection(fixtures_dir):
    with pytest.raises(DataError, match=r"xlam_bad.json#1: field 'tools' is not valid JSON.*strict mode"):
        _load("xlam", fixtures_dir / "xlam_bad.json", strict=True)


def test_max_rows_limits_reading(fixtures_dir):
    examples, report = _load("xlam", fixtures_dir / "xlam_sample.json", max_rows=3)
    assert len(examples) == 3 and report.rows_read == 3


def test_missing_file_and_unreadable_json_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        _load("xlam", tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": 1,\n "query": ]')
    with pytest.raises(DataError, match=r"broken.json:2: invalid JSON"):
        _load("xlam", broken)


def test_xlam_jsonl_and_parquet_files(fixtures_dir, tmp_path):
    rows = json.loads((fixtures_dir / "xlam_sample.json").read_text())
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n{oops\n")
    examples, report = _load("xlam", jsonl)
    assert len(examples) == 8 and report.rejected == 1
    assert report.rejections[0].location == f"{jsonl}:9" and report.rejections[0].reason.startswith("invalid JSON")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "x.parquet")
    examples, _ = _load("xlam", tmp_path / "x.parquet")
    assert len(examples) == 8


def test_xlam_hub_path_is_real_code_with_a_clear_offline_error(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(name, subset, split):  # the Hub is unreachable here; check the call and the error
        calls.append((name, subset, split))
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    with pytest.raises(DataError, match="could not load 'Salesforce/xlam-function-calling-60k' from the Hugging Face Hub"):
        load_source(DataConfig(source="xlam", path="Salesforce/xlam-function-calling-60k"))
    assert calls == [("Salesforce/xlam-function-calling-60k", None, "train")]


def test_xlam_hub_rows_are_converted(monkeypatch, fixtures_dir):
    import datasets

    rows = json.loads((fixtures_dir / "xlam_sample.json").read_text())
    monkeypatch.setattr(datasets, "load_dataset", lambda name, subset, split: datasets.Dataset.from_list(rows))
    examples, report = load_source(DataConfig(source="xlam", path="Salesforce/xlam-function-calling-60k"))
    assert len(examples) == 8 and examples[0]["meta"]["location"] == "hub:Salesforce/xlam-function-calling-60k#0"


def test_hermes_hub_subset_is_passed(monkeypatch, fixtures_dir):
    import datasets

    rows = [json.loads(line) for line in (fixtures_dir / "hermes_sample.jsonl").read_text().splitlines()[:2]]
    seen = []

    def fake_load_dataset(name, subset, split):
        seen.append((name, subset, split))
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    examples, _ = load_source(DataConfig(source="hermes", path="NousResearch/hermes-function-calling-v1",
                                         hub_subset="func_calling_singleturn"))
    assert seen == [("NousResearch/hermes-function-calling-v1", "func_calling_singleturn", "train")]
    assert len(examples) == 2


def test_hermes_python_literals_and_multi_turn(fixtures_dir):
    examples, report = _load("hermes", fixtures_dir / "hermes_sample.jsonl")
    assert (report.rows_read, report.converted, report.rejected) == (5, 2, 3)
    first, multi = examples
    assert first["category"] == "parallel_multiple"
    assert [t["function"]["name"] for t in first["tools"]] == ["get_camera_live_feed", "list_all_cameras"]
    assert first["messages"][0]["role"] == "user"  # the hermes system text is dropped (tools are in `tools`)
    calls = first["messages"][-1]["tool_calls"]
    assert calls[0]["function"] == {"name": "get_camera_live_feed",
                                    "arguments": {"camera_id": "front_door", "stream_quality": "1080p"}}
    assert calls[1]["function"]["arguments"] == {"include_offline": True}
    assert first["meta"]["subcategory"] == "Security Camera Management"
    assert multi["category"] == "multi_turn" and multi["ground_truth"] == {"kind": "no_call"}
    assert [m["role"] for m in multi["messages"]] == ["user", "assistant", "tool", "assistant"]
    reasons = [r.reason for r in report.rejections]
    assert reasons[0] == "no <tools> block in the system turn and no 'tools' field"
    assert reasons[1] == "answer names unknown tool 'unknown_tool'"
    assert reasons[2].startswith("invalid JSON")


def test_canonical_jsonl_roundtrip_and_rejections(tmp_path, synthetic_examples):
    from fcray.data.io import write_jsonl

    path = tmp_path / "c.jsonl"
    write_jsonl(synthetic_examples[:5] + [synthetic_examples[0]], path)
    with path.open("a") as f:
        f.write(json.dumps({"id": "x", "source": "s", "category": "single", "messages": [], "tools": [],
                            "ground_truth": {"kind": "no_call"}}) + "\n")
    examples, report = _load("jsonl", path)
    assert examples == synthetic_examples[:5]
    assert report.kept == 5 and report.rejected == 2
    assert report.rejections[0].reason.startswith("duplicate id 'synthetic-000000'")
    assert "not a canonical example: messages: [] is too short" in report.rejections[1].reason
