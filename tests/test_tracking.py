"""fcray.tracking: where runs log, checked by reading the trackers back with their own readers."""

from __future__ import annotations

import importlib.util

import pytest

from fcray import tracking
from fcray.config import ConfigError, load_config
from tests.tracking_readback import event_files, mlflow_runs, tensorboard_scalars, wandb_offline_runs


@pytest.mark.parametrize("overrides, key, message", [
    (["sft.report_to=[tensorbord]"], "sft.report_to", "unknown tracker 'tensorbord'"),
    (["grpo.report_to=[none,mlflow]"], "grpo.report_to", "'none' cannot be combined"),
    (["eval.report_to=[comet]"], "eval.report_to", "choose from tensorboard, mlflow, wandb, none"),
    (["tracking.report_to=[]"], "tracking.report_to", "name at least one tracker"),
])
def test_bad_trackers_are_named_with_their_key(overrides, key, message):
    with pytest.raises(ConfigError, match=key) as error:
        load_config("tiny", overrides=overrides)
    assert message in str(error.value)


@pytest.mark.parametrize("overrides, stage_value, resolved", [
    ([], None, ["tensorboard"]),                                           # the default
    (["sft.report_to=mlflow"], ["mlflow"], ["mlflow"]),                    # one name as a plain string
    (["sft.report_to=[none]"], ["none"], []),                              # this stage logs nowhere
    (["tracking.report_to=[mlflow,tensorboard]"], None, ["mlflow", "tensorboard"]),  # every stage's default
])
def test_a_stage_takes_its_own_list_or_the_shared_default(tmp_path, overrides, stage_value, resolved):
    config = load_config("tiny", overrides=[f"workdir={tmp_path}", *overrides])
    assert config.sft.report_to == stage_value
    resolved_tracking = tracking.resolve(config, config.sft.report_to, tmp_path / "tb", "sft-x")
    assert resolved_tracking.report_to == resolved
    assert resolved_tracking.trl_report_to() == (resolved or "none")


def test_mlflow_defaults_to_a_sqlite_store_in_the_workdir(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = load_config("tiny", overrides=[f"workdir={tmp_path}", "tracking.report_to=[mlflow]"])
    resolved = tracking.resolve(config, None, tmp_path / "tb", "run")
    assert resolved.mlflow_tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert resolved.experiment == "fcray-tiny"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert tracking.resolve(config, None, tmp_path, "run").mlflow_tracking_uri == "http://mlflow.example:5000"


def test_wandb_settings_travel_from_the_driver_to_the_worker_that_logs(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    config = load_config("tiny", overrides=[f"workdir={tmp_path}", "tracking.report_to=[wandb]"])
    resolved = tracking.resolve(config, None, tmp_path / "runs" / "sft-x" / "tensorboard", "sft-x")
    assert resolved.wandb_env == {"WANDB_MODE": "offline", "WANDB_API_KEY": "k" * 40}
    for key in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_DIR", "WANDB_PROJECT"):  # a worker's fresh environment
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WANDB_PROJECT", "mine")  # the worker's own setting wins
    resolved.apply_wandb_env()
    import os

    assert os.environ["WANDB_MODE"] == "offline" and os.environ["WANDB_DIR"] == str(tmp_path / "runs" / "sft-x")
    assert os.environ["WANDB_PROJECT"] == "mine"
    assert tracking.resolve(load_config("tiny", overrides=[f"workdir={tmp_path}"]), None, tmp_path, "r").wandb_env == {}


def test_a_missing_tracker_package_fails_before_work_and_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(RuntimeError, match=r"'wandb' package is not installed: pip install wandb"):
        tracking.Tracking(report_to=["tensorboard", "wandb"]).require()


def test_scalar_logger_writes_tensorboard_mlflow_and_wandb_that_their_readers_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")  # W&B's own switch: a local run, nothing uploaded
    monkeypatch.delenv("WANDB_DIR", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    where = tracking.Tracking(report_to=["tensorboard", "mlflow", "wandb"], tensorboard_dir=str(tmp_path / "tb"),
                              mlflow_tracking_uri=uri, experiment="fcray-test", run_name="eval-sft")
    results = {"metrics": {"parse_rate": {"mean": 0.75, "low": 0.5, "high": 1.0, "n": 4},
                           "args_f1": {"mean": None, "low": None, "high": None, "n": 0}},
               "by_category": {"single": {"exact_match": {"mean": 0.5, "low": 0.0, "high": 1.0, "n": 2}}}}
    with tracking.ScalarLogger(where, {"model": "m"}) as logger:
        logger.log(tracking.eval_scalars(results))
    assert len(event_files(tmp_path / "tb")) == 1
    expected = {"eval/parse_rate": [(0, 0.75)], "eval/single/exact_match": [(0, 0.5)]}  # no value: not logged
    assert tensorboard_scalars(tmp_path / "tb") == expected
    assert mlflow_runs(uri, "fcray-test") == {"eval-sft": expected}
    assert wandb_offline_runs(tmp_path / "wandb") == {"eval-sft": expected}  # in the run folder (tb's parent)
