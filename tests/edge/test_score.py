"""The GGUF files of a model scored by fcray's eval and measured on llama.cpp, and the report's edge section."""

from __future__ import annotations

import json

from fcray.config import load_config


def test_score_gguf_scores_and_measures_each_quantized_file_and_the_report_shows_them(calling_model, tmp_path):
    from fcray.eval.edge import score_gguf
    from fcray.eval.stages import report_for

    config = load_config("tiny", overrides=[f"workdir={tmp_path}", "data.num_examples=120", "eval.max_examples=6",
                                            "eval.max_new_tokens=24", "eval.bootstrap_samples=100",
                                            "edge.check_prompts=10"])
    edge = score_gguf(config, calling_model, log=lambda *_: None)
    assert set(edge["files"]) == {"q8_0", "q4_k_m"}
    for kind, figures in edge["files"].items():
        assert figures["requests"] == 16 and figures["ttft_ms"]["p50"] > 0 and figures["peak_rss_bytes"] > 1 << 20
        assert figures["prompt_tokens_per_s"] > 0 and figures["generation_tokens_per_s"] > 0
        results = json.loads((tmp_path / "eval" / f"gguf-{kind}" / "results.json").read_text())
        assert results["examples"] == 6 and results["backend"] == "endpoint"
        assert figures["parse_rate"] == results["metrics"]["parse_rate"]["mean"]
    assert edge["checks"]["q4_k_m"]["tokenization"]["identical"] == 10
    assert json.loads((tmp_path / "edge" / "results.json").read_text())["files"].keys() == {"q8_0", "q4_k_m"}
    report = report_for(config).read_text()  # only the GGUF rows were scored: no A/B/C columns, no deltas
    assert "| C (GGUF Q8_0) | C (GGUF Q4_K_M) |" in report and "## Edge (GGUF on llama.cpp)" in report
    assert "llama.cpp tokenized all 10 validation prompts" in report and "![edge.png](edge.png)" in report
