"""The pipeline's A/B/C evals in one place, reused across stages, and the report built from them."""

from __future__ import annotations

from fcray.cli import main
from fcray.config import load_config
from fcray.eval.stages import eval_dir, evaluate_stages

from tests.tracking_readback import event_files, mlflow_runs, tensorboard_scalars

from .conftest import COMPLETIONS, EXAMPLES
from .test_run import ScriptedBackend


def test_stages_share_eval_folders_and_the_report_compares_them(tmp_path, tiny_model_dir, monkeypatch, capsys):
    import fcray.eval.backends as backends

    made = []

    def scripted(model, config, decoding=None):
        made.append(model)
        return ScriptedBackend()

    monkeypatch.setitem(backends.BACKENDS, "hf", scripted)
    config = load_config("tiny", overrides=[f"workdir={tmp_path}", "eval.backend=hf", "eval.bootstrap_samples=200",
                                            "tracking.report_to=[tensorboard,mlflow]"])
    second = tmp_path / "second"
    second.mkdir()
    (second / "config.json").write_text("{}")
    evaluate_stages(config, {"base": str(tiny_model_dir), "sft": str(second)}, EXAMPLES)  # as the SFT job does
    evaluate_stages(config, {"sft": str(second)}, EXAMPLES)                                # as the GRPO job does
    assert made == [str(tiny_model_dir), str(second)]  # B's predictions were reused, not generated again
    assert (eval_dir(config) / "sft" / "predictions.jsonl").exists()
    # Each model's metrics reach the trackers once (B's second scoring changed nothing, so it is not logged again).
    base = tensorboard_scalars(eval_dir(config) / "base" / "tensorboard")
    assert len(event_files(eval_dir(config) / "sft" / "tensorboard")) == 1
    assert base["eval/exact_match"] == [(0, 0.25)] and "eval/single/parse_rate" in base
    runs = mlflow_runs(f"sqlite:///{tmp_path}/mlflow.db", "fcray-tiny")
    assert sorted(runs) == ["eval-base", "eval-sft"] and runs["eval-sft"]["eval/exact_match"] == [(0, 0.25)]

    assert main(["report", "--set", f"workdir={tmp_path}"]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| metric | base (A) | sft (B) | Δ sft (B) − base (A) |" in report
    assert "| exact_match | 0.250 [" in report and "| +0.000 [+0.000, +0.000] |" in report
    assert "Not run yet: `fcray eval --bfcl`" in report
    assert (tmp_path / "report" / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    assert len(COMPLETIONS) == len(EXAMPLES)


def test_unknown_stage_is_named(tmp_path, capsys):
    assert main(["eval", "--stages", "base,rlhf", "--set", f"workdir={tmp_path}"]) == 2
    assert "unknown stage(s) ['rlhf']" in capsys.readouterr().err
