"""`fcray export gguf` / `fcray edge serve` from the command line, and the edge settings' validation."""

from __future__ import annotations

import json

import pytest

from fcray.cli import main
from fcray.config import ConfigError, load_config


def test_export_gguf_writes_checked_files_and_names_them(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "gguf"
    code = main(["export", "gguf", "--model", str(tiny_model_dir), "--out", str(out), "--set", f"workdir={tmp_path}",
                 "--set", "data.num_examples=200", "--set", "edge.check_prompts=20",
                 "--set", "edge.quantizations=[q8_0]", "--set", "edge.serve_quantization=q8_0"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    record = json.loads((out / "export.json").read_text())
    assert record["files"].keys() == {"f16", "q8_0"}
    for kind in ("f16", "q8_0"):
        assert record["checks"][kind]["tokenization"]["identical"] == 20
        assert "tokenization identical on 20 validation prompts" in printed
    assert (out / "Modelfile").read_text().startswith("# ollama create")


@pytest.mark.parametrize("argv, message", [
    (["export", "gguf", "--model", "/nonexistent/model"], "model folder /nonexistent/model does not exist"),
    (["edge", "serve", "--gguf", "/nonexistent/x.gguf"], "GGUF file /nonexistent/x.gguf does not exist"),
    (["export", "gguf", "--set", "edge.quantizations=[q3_k]"], "edge.quantizations"),
])
def test_bad_arguments_exit_2_naming_what_is_wrong(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("override, field", [
    ("edge.quantizations=[q3_k]", "edge.quantizations"),
    ("edge.serve_quantization=q4_k_m", "edge.serve_quantization"),  # not among edge.quantizations
    ("edge.threads=0", "edge.threads"),
    ("edge.ctx_size=128", "edge.ctx_size"),
    ("edge.port=70000", "edge.port"),
])
def test_edge_settings_are_validated(override, field):
    overrides = [override] if "serve_quantization" not in override else [override, "edge.quantizations=[q8_0]"]
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config("tiny", overrides=overrides)
