"""Read what fcray logged back through the trackers' own readers (TensorBoard's event reader, MLflow's client),
so tests check what a user would see, not what fcray meant to write."""

from __future__ import annotations

from pathlib import Path


def event_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).rglob("events.out.tfevents.*"))


def tensorboard_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of every scalar in the event files under ``folder``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in event_files(folder):
        events = EventAccumulator(str(path), size_guidance={"scalars": 0})  # 0 = keep every point
        events.Reload()
        for tag in events.Tags()["scalars"]:
            scalars.setdefault(tag, []).extend((e.step, e.value) for e in events.Scalars(tag))
    return scalars


def mlflow_runs(uri: str, experiment: str) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """``{run name: {metric: [(step, value), ...]}}`` of an MLflow experiment, through MLflow's client."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment '{experiment}' at {uri}"
    runs = {}
    for run in client.search_runs([found.experiment_id]):
        runs[run.info.run_name] = {key: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))
                                   for key in run.data.metrics}
    return runs


def wandb_records(path: Path):
    """The protobuf records (W&B's own ``Record`` message) of an offline run's transaction log
    ``run-<id>.wandb``. W&B 0.31 moved its reader into the Go core, so this reads the container itself:
    a 7-byte header (``:W&B``, magic 0xBEE1, version 0), then LevelDB's log format (32 KiB blocks; each
    chunk: CRC32-C, little-endian length, type FULL=1 / FIRST=2 / MIDDLE=3 / LAST=4)."""
    import struct

    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B" and data[4:6] == b"\xe1\xbe", f"{path} is not a W&B transaction log"
    block, position, pending = 32768, 7, b""
    while position + 7 <= len(data):
        left_in_block = block - position % block
        if left_in_block < 7:  # a block's tail too short for a chunk header is padding
            position += left_in_block
            continue
        length, kind = struct.unpack_from("<HB", data, position + 4)
        if length == 0 and kind == 0:  # zero padding at the end of a block
            position += left_in_block
            continue
        chunk = data[position + 7:position + 7 + length]
        position += 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""


def wandb_offline_runs(folder: Path) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """``{run name: {metric: [(step, value), ...]}}`` of the offline W&B runs under ``folder`` (what
    ``wandb sync`` would upload), from each run's transaction log."""
    import json

    runs: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for path in sorted(Path(folder).rglob("offline-run-*/run-*.wandb")):
        name, metrics = None, {}
        for record in wandb_records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                name = record.run.display_name
            elif kind == "history":
                items = {(item.key or "/".join(item.nested_key)): json.loads(item.value_json)
                         for item in record.history.item}
                step = items.pop("_step", record.history.step.num)
                for key, value in items.items():
                    if not key.startswith("_") and isinstance(value, (int, float)):
                        metrics.setdefault(key, []).append((int(step), float(value)))
        assert name is not None, f"{path} has no run record"
        runs[name] = metrics
    return runs
