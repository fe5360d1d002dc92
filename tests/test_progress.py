"""fcray.progress: bars on a terminal, silence elsewhere, markers for the demo's jobs, and the loops that report."""

from __future__ import annotations

import io

import pytest

from fcray import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("env, stream, expect_bar, expect_marker", [
    (None, Terminal(), True, False),        # a user's terminal: a bar
    (None, io.StringIO(), False, False),    # a log file, a pipe, CI: nothing
    ("0", Terminal(), False, False),        # silenced
    ("1", Terminal(), False, True),         # a job the demo submitted: marker lines on stdout
])
def test_where_progress_goes(monkeypatch, capsys, env, stream, expect_bar, expect_marker):
    if env is None:
        monkeypatch.delenv(progress.ENV, raising=False)
    else:
        monkeypatch.setenv(progress.ENV, env)
    monkeypatch.setattr("sys.stderr", stream)
    for done in range(0, 5):
        progress.report("eval sft (B)", done, 4)
    assert ("eval sft (B)" in stream.getvalue() and "4/4" in stream.getvalue()) is expect_bar
    assert (progress.MARKER in capsys.readouterr().out) is expect_marker
    assert progress._bars == {}  # a finished task's bar is closed


def test_an_unknown_total_counts_up_and_a_sink_takes_precedence(monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    monkeypatch.setattr("sys.stderr", Terminal())
    progress.report("data rows (xlam)", 200, 0)
    assert "200" in progress._bars["data rows (xlam)"].format_meter(200, None, 1.0)
    progress._bars.pop("data rows (xlam)").close()
    got = []
    with progress.sink(lambda *a: got.append(a)):
        progress.report("gguf files", 1, 3)
    assert got == [("gguf files", 1, 3)] and progress._bars == {}


def test_building_data_reports_its_rows(tmp_path):
    from fcray.config import load_config
    from fcray.data.pipeline import build_dataset

    got = []
    with progress.sink(lambda *a: got.append(a)):
        build_dataset(load_config("tiny", overrides=["data.num_examples=450"]).data, tmp_path)
    assert got == [("data rows (synthetic)", 200, 450), ("data rows (synthetic)", 400, 450),
                   ("data rows (synthetic)", 450, 450)]


def test_sweep_trials_report_as_they_finish_or_fail():
    from fcray.bench.sweep import trial_progress

    got = []
    callback = trial_progress(3)
    with progress.sink(lambda *a: got.append(a)):
        callback.on_trial_complete(1, [], None)
        callback.on_trial_error(2, [], None)
    assert got == [("sweep trials", 1, 3), ("sweep trials", 2, 3)]
