"""`fcray export push`: up to the upload call, with the Hub client pointed at nothing reachable (no Hub
can be reached from CI); the failure is a clear error naming the endpoint, and a folder that is not a
model is refused before any request."""

from __future__ import annotations

import pytest

from fcray.cli import main
from fcray.cluster import free_port


def _model_folder(tmp_path, tiny_model_dir):
    from fcray.model.card import write_model_card
    from fcray.model.export import merge_to_folder

    out = merge_to_folder(tiny_model_dir, tmp_path / "sft-run" / "model")
    write_model_card(out, "sft", str(tiny_model_dir), {"lr": 1e-3})
    return out


@pytest.mark.parametrize("offline, reason", [(False, "ConnectError"), (True, "OfflineModeIsEnabled")])
def test_push_reaches_the_upload_and_names_the_unreachable_hub(tmp_path, tiny_model_dir, monkeypatch, capsys,
                                                               offline, reason):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", offline)  # the suite runs offline
    model = _model_folder(tmp_path, tiny_model_dir)
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert main(["export", "push", "--model", str(model), "--repo-id", "me/fcray-tiny", "--endpoint", endpoint]) == 2
    err = capsys.readouterr().err
    assert f"fcray export: error: cannot push {model} to {endpoint}/me/fcray-tiny: {reason}" in err
    assert "HF_TOKEN" in err and "hf_not_a_real_token" not in err  # what to check, never the secret


@pytest.mark.parametrize("files, missing", [([], "config.json, README.md"), (["config.json"], "README.md")])
def test_push_refuses_a_folder_that_is_not_a_model_before_any_request(tmp_path, capsys, files, missing):
    for name in files:
        (tmp_path / name).write_text("{}")
    assert main(["export", "push", "--model", str(tmp_path), "--repo-id", "me/x", "--endpoint", "http://127.0.0.1:9"]) == 2
    assert f"is not a model folder fcray can push: no {missing}" in capsys.readouterr().err
