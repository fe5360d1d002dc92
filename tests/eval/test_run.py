"""The resumable eval run: predictions appended per batch, a stopped run resumed, bad input named."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from fcray.cli import main
from fcray.config import EvalConfig
from fcray.eval.backends import Generation
from fcray.eval.errors import EvalError
from fcray.eval.run import PREDICTIONS, load_predictions, run_eval

from .conftest import COMPLETIONS, EXAMPLES


class ScriptedBackend:
    """fcray's backend interface answering from COMPLETIONS; fails on call ``fail_on`` (counting from 1)."""

    def __init__(self, fail_on: int | None = None):
        self.calls, self.fail_on, self.seen = 0, fail_on, []

    def generate(self, examples):
        self.calls += 1
        if self.calls == self.fail_on:
            raise EvalError("endpoint went away")
        self.seen += [e["id"] for e in examples]
        return [Generation(COMPLETIONS[e["id"]], "stop") for e in examples]

    def close(self):
        pass


@pytest.fixture()
def model_dir(tmp_path):
    path = tmp_path / "model"
    path.mkdir()
    (path / "config.json").write_text("{}")
    return path


CONFIG = EvalConfig(batch_size=3, bootstrap_samples=200)


def test_a_stopped_run_keeps_its_predictions_and_resumes(tmp_path, model_dir):
    out = tmp_path / "eval"
    with pytest.raises(EvalError, match="went away"):
        run_eval(str(model_dir), EXAMPLES, CONFIG, out, backend=ScriptedBackend(fail_on=2))
    assert [p["id"] for p in load_predictions(out)] == [e["id"] for e in EXAMPLES[:3]]  # batch 1 kept

    backend = ScriptedBackend()
    results = run_eval(str(model_dir), EXAMPLES, CONFIG, out, backend=backend)
    assert backend.seen == [e["id"] for e in EXAMPLES[3:]]  # only what was missing
    assert results["examples"] == len(EXAMPLES)
    assert results["metrics"]["exact_match"]["mean"] == pytest.approx(0.25)
    rows = load_predictions(out)
    assert sorted(p["id"] for p in rows) == sorted(e["id"] for e in EXAMPLES)
    row = next(p for p in rows if p["id"] == "right")
    assert row["calls"] == [{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}}]
    assert row["match"] == 1.0 and row["parse_status"] == "ok" and row["kind"] == "call"
    assert json.loads((out / "results.json").read_text())["metrics"] == results["metrics"]

    again = ScriptedBackend()
    run_eval(str(model_dir), EXAMPLES, CONFIG, out, backend=again)
    assert again.calls == 0  # complete: nothing generated


def test_a_cut_last_line_is_regenerated(tmp_path, model_dir):
    out = tmp_path / "eval"
    run_eval(str(model_dir), EXAMPLES[:3], CONFIG, out, backend=ScriptedBackend())
    text = (out / PREDICTIONS).read_text().splitlines()
    (out / PREDICTIONS).write_text("\n".join(text[:2]) + "\n" + text[2][:25])  # killed mid-write
    backend = ScriptedBackend()
    run_eval(str(model_dir), EXAMPLES[:3], CONFIG, out, backend=backend)
    assert backend.seen == [EXAMPLES[2]["id"]]
    assert len(load_predictions(out)) == 3


def test_other_settings_do_not_mix_with_earlier_predictions(tmp_path, model_dir):
    out = tmp_path / "eval"
    run_eval(str(model_dir), EXAMPLES, CONFIG, out, backend=ScriptedBackend())
    with pytest.raises(EvalError, match="temperature"):
        run_eval(str(model_dir), EXAMPLES, replace(CONFIG, temperature=0.7), out, backend=ScriptedBackend())
    # constrained decoding is another setting: its predictions never mix with free ones, and say so
    from fcray.config import DecodingConfig

    with pytest.raises(EvalError, match="decoding"):
        run_eval(str(model_dir), EXAMPLES, CONFIG, out, backend=ScriptedBackend(), decoding=DecodingConfig(constrained=True))
    constrained = run_eval(str(model_dir), EXAMPLES, CONFIG, tmp_path / "constrained", backend=ScriptedBackend(),
                           decoding=DecodingConfig(constrained=True, max_calls=2))
    assert constrained["decoding"]["constrained"] is True and constrained["decoding"]["max_calls"] == 2
    assert "decoding" not in json.loads((out / "results.json").read_text())  # free runs stay as they were
    # the same folder rewritten (a retrained model): its old predictions are void, all are generated again
    (model_dir / "config.json").write_text('{"retrained": true}')
    backend = ScriptedBackend()
    run_eval(str(model_dir), EXAMPLES, CONFIG, out, backend=backend)
    assert len(backend.seen) == len(EXAMPLES)


def test_generation_errors_are_recorded_not_dropped(tmp_path, model_dir):
    class TooLong(ScriptedBackend):
        def generate(self, examples):
            return [Generation("", error="prompt too long") for _ in examples]

    results = run_eval(str(model_dir), EXAMPLES[:2], CONFIG, tmp_path / "eval", backend=TooLong())
    assert results["errors"] == 2 and results["examples"] == 2
    assert all(p["error"] == "prompt too long" and p["match"] == 0.0 for p in load_predictions(tmp_path / "eval"))


def test_missing_model_folder_is_named(tmp_path, capsys):
    code = main(["eval", "--model", str(tmp_path / "nope"), "--set", f"workdir={tmp_path}"])
    assert code == 2
    assert f"model folder {tmp_path / 'nope'} does not exist" in capsys.readouterr().err


def test_validation_file_in_the_wrong_schema_is_named(tmp_path, model_dir, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "messages": [{"role": "user", "content": "hi"}]}) + "\n")
    code = main(["eval", "--model", str(model_dir), "--data", str(bad), "--set", f"workdir={tmp_path}"])
    assert code == 2
    assert f"{bad}:1" in capsys.readouterr().err


def test_hf_backend_scores_the_tiny_model(tmp_path, tiny_model_dir, synthetic_examples):
    config = EvalConfig(backend="hf", max_new_tokens=16, batch_size=4, bootstrap_samples=100)
    results = run_eval(str(tiny_model_dir), synthetic_examples[:6], config, tmp_path / "eval")
    assert results["examples"] == 6 and results["backend"] == "hf"
    rows = load_predictions(tmp_path / "eval")
    assert len(rows) == 6 and all(isinstance(r["completion"], str) for r in rows)


def test_the_hf_backend_refuses_constrained_decoding_and_names_the_backends_that_do_it(tiny_model_dir):
    from fcray.config import DecodingConfig
    from fcray.eval.backends import make_backend

    with pytest.raises(EvalError, match="eval.backend=vllm or eval.backend=endpoint"):
        make_backend(str(tiny_model_dir), CONFIG, DecodingConfig(constrained=True))


def test_a_full_disk_stops_the_eval_with_a_clear_error_and_the_rerun_resumes(tmp_path):
    """A real full disk: a 64 KiB tmpfs in a mount namespace of its own (``unshare -rm``, no privileges
    needed where user namespaces are allowed), 300 predictions that do not fit. The run stops with an error
    naming the file and the cause, the complete lines stay, and after the tmpfs grows the rerun generates
    only what is missing."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("no unprivileged mount namespace here (unshare -rm): cannot make a small disk")
    repo = Path(__file__).resolve().parents[2]
    script = f'mount -t tmpfs -o size=64k fcray-full "{tmp_path}" && exec "{sys.executable}" tests/eval/full_disk_eval.py "{tmp_path}" 300'
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=repo, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(repo)})
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "predictions.jsonl: No space left on device" in seen["error"] and "rerun to go on" in seen["error"]
    assert 0 < seen["kept"] < 300 and seen["kept_ids_unique"]
    assert seen["resumed_generated"] == 300 - seen["kept"] and seen["final"] == seen["examples"] == 300
