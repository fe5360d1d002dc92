"""`fcray data`: load a source, split, augment, and write the canonical train/validation sets.

Output folder (``<workdir>/data`` unless given)::

    train.jsonl  validation.jsonl        canonical examples, one JSON object per line
    train.parquet validation.parquet     the same, for HF datasets / Ray Data (see fcray.data.io)
    rejected.jsonl                       every rejected source row: location and reason
    summary.json                         load report, split sizes, categories, augmentation counts
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fcray.config import DataConfig
from fcray.data.augment import augment_split, rename_split
from fcray.data.io import load_examples, write_jsonl, write_parquet
from fcray.data.report import DataError, LoadReport
from fcray.data.sources import get_source
from fcray.data.split import split_examples


@dataclass
class DatasetFiles:
    out_dir: Path
    summary: dict[str, Any]

    @property
    def train(self) -> Path:
        return self.out_dir / "train.jsonl"

    @property
    def validation(self) -> Path:
        return self.out_dir / "validation.jsonl"


def load_source(config: DataConfig) -> tuple[list[dict[str, Any]], LoadReport]:
    report = LoadReport(source=config.source if not config.path else f"{config.source}:{config.path}",
                        strict=config.strict)
    from fcray.progress import report as report_progress

    expected = config.num_examples if config.source == "synthetic" else 0  # other sources: unknown until read
    examples = []
    for example in get_source(config.source).load(config, report):
        examples.append(example)
        if len(examples) % 200 == 0:
            report_progress(f"data rows ({config.source})", len(examples), expected)
    report_progress(f"data rows ({config.source})", len(examples), len(examples))
    if not examples:
        raise DataError(f"{report.source}: no usable rows\n{report.summary()}")
    return examples, report


def build_dataset(config: DataConfig, out_dir: str | Path) -> DatasetFiles:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    examples, report = load_source(config)
    train, validation = split_examples(examples, config.val_fraction, config.seed)
    if not train or not validation:
        raise DataError(f"the split left {len(train)} train and {len(validation)} validation examples; "
                        f"load more rows or change data.val_fraction")
    chat_rows = load_examples(config.augment.chat_path) if config.augment.chat_path else None
    augmentation = {}
    for name, split in (("train", train), ("validation", validation)):
        added, stats = augment_split(split, config.augment, name, chat_rows)
        split.extend(added)
        if name == "train" and config.augment.rename_tools_ratio:
            stats["renamed_tools"] = rename_split(split, config.augment.rename_tools_ratio, config.augment.seed, name)
        random.Random(f"{config.seed}:{name}:order").shuffle(split)
        augmentation[name] = stats
        write_jsonl(split, out_dir / f"{name}.jsonl")
        write_parquet(split, out_dir / f"{name}.parquet")
    write_jsonl(({"location": r.location, "reason": r.reason} for r in report.rejections), out_dir / "rejected.jsonl")
    summary = {
        "load": report.to_dict(),
        "splits": {
            name: {"examples": len(split), "categories": dict(sorted(Counter(e["category"] for e in split).items()))}
            for name, split in (("train", train), ("validation", validation))
        },
        "holdout_tool_examples": sum(1 for e in validation if e.get("meta", {}).get("holdout")),
        "augmentation": augmentation,
        "config": {"source": config.source, "path": config.path, "seed": config.seed,
                   "val_fraction": config.val_fraction},
        "settings": data_settings(config),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return DatasetFiles(out_dir, {**summary, "report_text": report.summary()})


def _local_files(path: str | None) -> list[list[Any]] | None:
    """``[[name, size, mtime_ns], ...]`` of a local source file or folder; None for a Hub id or nothing."""
    if not path or not Path(path).exists():
        return None
    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return [[str(f.relative_to(root) if f != root else f.name), f.stat().st_size, f.stat().st_mtime_ns] for f in files]


def data_settings(config: DataConfig) -> dict[str, Any]:
    """What the built data depends on: every ``data.*`` field, and the size and time of local source files
    (a JSONL that changed on disk is new data under the same settings)."""
    import dataclasses

    return {"data": dataclasses.asdict(config), "source_files": _local_files(config.path),
            "chat_files": _local_files(config.augment.chat_path)}


def _changed(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ, e.g. ``['data.num_examples: 2000 -> 500']``."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += _changed(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key}: {a} -> {b}" if not isinstance(a, list) else f"{prefix}{key} changed")
    return changes


def ensure_dataset(config: DataConfig, workdir: str | Path, log=print) -> Path:
    """``<workdir>/data``: reused when it was built with the same data settings (and the same local source
    files), else (re)built with :func:`build_dataset`, saying what changed."""
    out_dir = Path(workdir).resolve() / "data"
    settings = data_settings(config)
    if (out_dir / "train.jsonl").exists():
        try:
            built = json.loads((out_dir / "summary.json").read_text()).get("settings")
        except (OSError, ValueError):
            built = None
        if built == json.loads(json.dumps(settings)):  # compared as stored (tuples become lists)
            return out_dir
        reason = ("; ".join(_changed(built, settings)) if built else
                  "it has no record of the settings it was built with")
        log(f"[fcray data] rebuilding {out_dir}: {reason}")
    build_dataset(config, out_dir)
    return out_dir


def validation_examples(workdir: str | Path) -> list[dict]:
    """The held-out split :func:`ensure_dataset` wrote under ``<workdir>/data``."""
    from fcray.data.io import load_examples

    return load_examples(Path(workdir).resolve() / "data" / "validation.jsonl")


def probe_example(workdir: str | Path) -> dict:
    """The first held-out example that expects a call: what an exported model is checked on."""
    return next(e for e in validation_examples(workdir) if e["ground_truth"]["kind"] == "call")


def format_summary(files: DatasetFiles) -> str:
    summary = files.summary
    lines = [summary["report_text"], ""]
    categories = sorted({c for s in summary["splits"].values() for c in s["categories"]})
    lines.append(f"{'category':<20}{'train':>8}{'validation':>12}")
    for category in categories:
        counts = [summary["splits"][s]["categories"].get(category, 0) for s in ("train", "validation")]
        lines.append(f"{category:<20}{counts[0]:>8}{counts[1]:>12}")
    lines.append(f"{'total':<20}{summary['splits']['train']['examples']:>8}"
                 f"{summary['splits']['validation']['examples']:>12}")
    if summary["holdout_tool_examples"]:
        lines.append(f"({summary['holdout_tool_examples']} validation examples use held-out tools never seen in training)")
    for split, stats in summary["augmentation"].items():
        short = [f"{k} {v['made']}/{v['requested']}" for k, v in stats.items() if v["requested"]]
        if short:
            lines.append(f"augmentation ({split}): " + ", ".join(short))
    lines.append(f"written to {files.out_dir}/ (train/validation .jsonl + .parquet, rejected.jsonl, summary.json)")
    return "\n".join(lines)
