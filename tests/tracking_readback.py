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
