"""The report's load-test table and plot (fcray.eval.report), from `fcray bench` rows."""

from __future__ import annotations

from fcray.bench.loadgen import RequestResult, summarize_cell
from fcray.eval.report import load_test_section, plot_load_test


def _rows():
    cells = []
    for length in (256, 1024):
        for concurrency in (1, 4):
            slow = concurrency * length / 256  # later cells are slower, as under real load
            results = [RequestResult(True, None, 0.05 * slow * (1 + i / 10), 1.0 * slow, [0.01 * slow], length, 64)
                       for i in range(20)]
            cells.append(summarize_cell(results, concurrency, length, seconds=10.0))
    return cells + [{"prompt_tokens": 4096, "concurrency": None, "skipped": "skipped: exceeds the context of 2048"}]


def test_the_table_has_ttft_and_tpot_at_p50_p95_p99_per_cell_and_names_skipped_lengths():
    lines = load_test_section(_rows())
    assert lines[1] == "## Load test"
    rows = [line for line in lines if line.startswith("| 256 ") or line.startswith("| 1024 ")]
    assert [r.split(" | ")[:2] for r in rows] == [["| 256", "1"], ["| 256", "4"], ["| 1024", "1"], ["| 1024", "4"]]
    # 20 requests with TTFT 50, 55, ..., 145 ms in the first cell: P50 97.5, P95 140.25, P99 144.05 ms
    # (numpy's linear interpolation)
    assert rows[0].split(" | ")[4] == "98 / 140 / 144" and rows[0].split(" | ")[5] == "10.0 / 10.0 / 10.0"
    assert lines[-1] == "- prompt 4096: skipped: exceeds the context of 2048"
    assert load_test_section(None) == [] and load_test_section([_rows()[-1]]) == []


def test_the_plot_is_written_and_survives_a_cell_without_successes(tmp_path):
    rows = _rows()
    rows[1] = summarize_cell([RequestResult(False, "ReadTimeout: no answer")], 4, 256, seconds=10.0)
    assert plot_load_test(rows, tmp_path / "load_test.png")
    assert (tmp_path / "load_test.png").read_bytes()[:4] == b"\x89PNG"
    assert not plot_load_test([rows[-1]], tmp_path / "none.png")


def test_resource_columns_appear_only_where_a_cell_has_the_figure():
    rows = _rows()
    for row in rows[:4]:  # a CPU machine: CPU, memory and KV cache, no GPU figures
        row.update({"gpu_util_pct": None, "gpu_mem_used_gib": None, "cpu_util_pct": 97.2,
                    "node_mem_used_gib": 11.54, "kv_cache_usage_pct": 3.1})
    rows[0]["kv_cache_usage_pct"] = None  # a cell whose engine had not exported the gauge yet
    lines = load_test_section(rows)
    header = next(line for line in lines if line.startswith("| prompt tokens"))
    assert header.endswith("| output tok/s | CPU util % | node mem GiB | KV cache % |") and "GPU" not in header
    assert lines[lines.index(header) + 1] == "|" + "---|" * 11
    first = next(line for line in lines if line.startswith("| 256 | 1 "))
    assert first.endswith("| 97 | 11.5 | – |")
    rows[1].update({"gpu_util_pct": 81.0, "gpu_mem_used_gib": 70.25})
    header = next(line for line in load_test_section(rows) if line.startswith("| prompt tokens"))
    assert "| GPU util % | GPU mem GiB | CPU util % |" in header
