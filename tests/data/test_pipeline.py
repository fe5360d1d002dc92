"""`fcray data` end to end, through the real command line."""

from __future__ import annotations

import json

from fcray.cli import main
from fcray.data.io import load_examples


def test_fcray_data_tiny_writes_splits_and_summary(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["data", "--preset", "tiny", "--set", "data.num_examples=300", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "synthetic: read 300 rows — kept 300, converted 0, rejected 0" in printed
    for line in ("category", "multiple", "irrelevance", "slot_filling", "multi_turn", "total"):
        assert line in printed
    train, val = load_examples(out / "train.jsonl"), load_examples(out / "validation.jsonl")
    assert load_examples(out / "train.parquet") == train and load_examples(out / "validation.parquet") == val
    summary = json.loads((out / "summary.json").read_text())
    assert summary["splits"]["train"]["examples"] == len(train)
    assert summary["load"] == {"source": "synthetic", "rows_read": 300, "kept": 300, "converted": 0, "rejected": 0,
                               "rejected_by_reason": {}}
    # Augmented variants stay in their source example's split.
    val_ids = {e["id"] for e in val}
    assert all(e["meta"]["from"] not in val_ids for e in train if "from" in e.get("meta", {}))
    # Rebuilding gives byte-identical files.
    again = tmp_path / "again"
    main(["data", "--preset", "tiny", "--set", "data.num_examples=300", "--out", str(again)])
    assert (again / "train.jsonl").read_bytes() == (out / "train.jsonl").read_bytes()


def test_fcray_data_converts_a_local_xlam_file_and_reports_rejections(tmp_path, capsys, fixtures_dir):
    import shutil

    src = tmp_path / "xlam.json"
    rows = json.loads((fixtures_dir / "xlam_sample.json").read_text()) * 3
    bad = json.loads((fixtures_dir / "xlam_bad.json").read_text())
    for i, row in enumerate(rows + bad):
        row["id"] = i
    src.write_text(json.dumps(rows + bad))
    out = tmp_path / "data"
    code = main(["data", "--preset", "tiny", "--source", "xlam", "--path", str(src), "--out", str(out),
                 "--set", "data.val_fraction=0.3"])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"xlam:{src}: read 31 rows — kept 0, converted 25, rejected 6" in printed
    assert "answer names unknown tool" in printed
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert len(rejected) == 6 and all(r["location"].startswith(f"{src}#") and r["reason"] for r in rejected)
    shutil.rmtree(out)
    assert main(["data", "--source", "xlam", "--path", str(src), "--out", str(out), "--strict"]) == 2
    assert "error: rejected" in capsys.readouterr().err


def test_fcray_data_exports_sharegpt(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["data", "--set", "data.num_examples=100", "--out", str(out), "--export", "sharegpt"]) == 0
    rows = [json.loads(line) for line in (out / "train.sharegpt.jsonl").read_text().splitlines()]
    assert rows and all(r["conversations"][0]["from"] == "system" for r in rows)


def _settings(**overrides):
    from fcray.config import load_config

    return load_config("tiny", overrides=[f"data.{k}={v}" for k, v in overrides.items()]).data


def test_ensure_dataset_reuses_data_only_when_it_was_built_with_the_same_settings(tmp_path):
    from fcray.data.pipeline import ensure_dataset

    lines = []
    data = ensure_dataset(_settings(num_examples=120), tmp_path, log=lines.append)
    built = (data / "train.jsonl").stat().st_mtime_ns
    assert ensure_dataset(_settings(num_examples=120), tmp_path, log=lines.append) == data
    assert (data / "train.jsonl").stat().st_mtime_ns == built and lines == []  # reused, silently
    ensure_dataset(_settings(num_examples=150), tmp_path, log=lines.append)
    assert lines == [f"[fcray data] rebuilding {data}: data.num_examples: 120 -> 150"]
    assert json.loads((data / "summary.json").read_text())["load"]["rows_read"] == 150
    ensure_dataset(_settings(num_examples=150, **{"augment.irrelevance_ratio": 0.3}), tmp_path, log=lines.append)
    assert lines[-1].endswith("data.augment.irrelevance_ratio: 0.1 -> 0.3")


def test_ensure_dataset_rebuilds_when_a_local_source_file_changed_or_the_record_is_missing(tmp_path, fixtures_dir):
    import shutil

    from fcray.data.pipeline import ensure_dataset

    source = tmp_path / "xlam.json"
    shutil.copy(fixtures_dir / "xlam_sample.json", source)
    config, lines = _settings(source="xlam", path=str(source), val_fraction=0.5), []
    data = ensure_dataset(config, tmp_path / "w", log=lines.append)
    rows = json.loads(source.read_text())
    source.write_text(json.dumps(rows[:-1]))  # the same settings, other data
    ensure_dataset(config, tmp_path / "w", log=lines.append)
    assert lines == [f"[fcray data] rebuilding {data}: source_files changed"]
    assert json.loads((data / "summary.json").read_text())["load"]["rows_read"] == len(rows) - 1
    summary = json.loads((data / "summary.json").read_text())
    del summary["settings"]  # data built before fcray recorded its settings
    (data / "summary.json").write_text(json.dumps(summary))
    ensure_dataset(config, tmp_path / "w", log=lines.append)
    assert lines[-1].endswith("it has no record of the settings it was built with")
