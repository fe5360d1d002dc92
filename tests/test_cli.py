from __future__ import annotations

import pytest
import yaml

from fcray.cli import main


def test_config_prints_resolved_yaml(capsys):
    assert main(["config", "--preset", "qwen3-0.6b", "--set", "sft.lora.r=16"]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["sft"]["lora"]["r"] == 16 and config["preset"] == "qwen3-0.6b"


def test_config_errors_exit_2_with_the_key(capsys):
    assert main(["config", "--set", "sft.lr=1"]) == 2
    assert "fcray config: error: unknown key 'sft.lr'" in capsys.readouterr().err


def test_every_stage_has_a_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    usage = capsys.readouterr().out
    for stage in ("data", "model", "sft", "grpo", "eval", "report", "serve", "bench", "demo"):
        assert stage in usage


def test_grpo_without_an_sft_model_says_what_to_run(tmp_path, capsys):
    assert main(["grpo", "--set", f"workdir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "fcray grpo: error: GRPO starts from the SFT model" in err and "fcray sft --preset tiny" in err


def test_config_explain_prints_each_setting_with_its_help(capsys):
    assert main(["config", "--explain", "grpo.engine"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("grpo.engine.cpus") and "1.0  (float)" in lines[0] and "logical CPUs" in lines[0]
    assert all(line.startswith("grpo.engine.") for line in lines)
    assert main(["config", "--explain", "grpo.nope"]) == 2
    assert "no setting is named 'grpo.nope'" in capsys.readouterr().err

def test_model_prints_folder_shape_and_pretraining(tiny_model_dir, capsys):
    assert main(["model", "--preset", "tiny"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == str(tiny_model_dir)
    assert "4 layers x 256 wide" in out[1] and "random init (model.tiny.pretrain_tokens: 0)" in out[2]


def test_serve_from_sweep_takes_the_sweeps_choice_and_set_still_wins(tmp_path, capsys, monkeypatch):
    import json

    import yaml

    import fcray.serve.config as serve_config

    real = serve_config.write_serve_config
    monkeypatch.setattr(serve_config, "write_serve_config", lambda config: real(config, tmp_path))

    assert main(["serve", "--from-sweep", "--write-config", "--set", f"workdir={tmp_path}"]) == 2
    assert "run the sweep first (python -m tune.sweep" in capsys.readouterr().err
    sweep = tmp_path / "bench" / "sweep"
    sweep.mkdir(parents=True)
    (sweep / "sweep.json").write_text(json.dumps({"slo_ttft_p95_ms": 500, "overrides": []}))
    assert main(["serve", "--from-sweep", "--write-config", "--set", f"workdir={tmp_path}"]) == 2
    assert "no trial met the TTFT SLO (500 ms)" in capsys.readouterr().err

    (sweep / "sweep.json").write_text(json.dumps({"overrides": ["serve.engine.max_num_seqs=8",
                                                                "serve.engine.max_num_batched_tokens=1024"]}))
    assert main(["serve", "--from-sweep", "--write-config", "--set", f"workdir={tmp_path}",
                 "--set", "serve.engine.max_num_batched_tokens=2048"]) == 0
    assert "the sweep's settings: serve.engine.max_num_seqs=8" in capsys.readouterr().out
    written = yaml.safe_load((tmp_path / "tiny.yaml").read_text())
    engine = written["applications"][0]["args"]["llm_configs"][0]["engine_kwargs"]
    assert (engine["max_num_seqs"], engine["max_num_batched_tokens"]) == (8, 2048)
