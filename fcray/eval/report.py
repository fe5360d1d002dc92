"""`fcray report`: what each training stage bought, in one Markdown table and a few PNG plots.

Inputs are the eval runs under ``<workdir>/eval/<stage>`` (results + predictions of A, B, C), the GRPO
run's ``metrics.jsonl`` and, once `fcray bench` has run, its load-test results. Differences between
consecutive models are paired bootstrap intervals over the examples both scored (the same sample).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fcray.eval.metrics import CATEGORY_METRICS, METRICS, metric_values, paired_difference
from fcray.eval.run import load_predictions, load_results

REPORT_METRICS = ("parse_rate", "schema_rate", "execute_rate", "result_match", "name_accuracy", "args_precision",
                  "args_recall", "args_f1", "exact_match", "irrelevance_accuracy", "slot_filling_accuracy", "accuracy",
                  "mean_reward")
REWARD_CURVES = (("reward", "total reward"), ("rewards/fcray_parse/mean", "parse"),
                 ("rewards/fcray_schema/mean", "schema"), ("rewards/fcray_execute/mean", "execute"),
                 ("rewards/fcray_result/mean", "result match"), ("rewards/fcray_match/mean", "exact match"),
                 ("rewards/fcray_name/mean", "name"), ("rewards/fcray_args_f1/mean", "args F1"))


def _interval(estimate: dict[str, float] | None, signed: bool = False) -> str:
    if estimate is None:
        return "–"
    fmt = "{:+.3f}" if signed else "{:.3f}"
    return f"{fmt.format(estimate['mean'])} [{fmt.format(estimate['low'])}, {fmt.format(estimate['high'])}]"


def _differences(runs: dict[str, Path], results: dict[str, dict[str, Any]],
                 pairs: list[tuple[str, str]] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Paired ``later - earlier`` per metric for each ``(earlier, later)`` pair (default: consecutive models)."""
    names = list(runs)
    verdicts = {n: load_predictions(runs[n]) for n in names}
    out = {}
    for earlier, later in pairs if pairs is not None else zip(names, names[1:]):
        conf = results[later].get("confidence", 0.95)
        diffs = {}
        for metric in REPORT_METRICS:
            # predictions carry the example's category and verdict; ground-truth kind is implied by which
            # examples a metric's value exists for, so rebuild the (verdict, example) view from them
            a = _values(metric, verdicts[earlier])
            b = _values(metric, verdicts[later])
            if set(a) & set(b):
                diffs[metric] = paired_difference(a, b, confidence=conf).to_dict()
        out[(earlier, later)] = diffs
    return out


def _values(metric: str, predictions: list[dict[str, Any]]) -> dict[str, float]:
    examples = [{"id": p["id"], "category": p["category"], "ground_truth": {"kind": p["kind"]}} for p in predictions]
    return metric_values(metric, predictions, examples)


def bfcl_section(bfcl: dict[str, dict[str, Any]]) -> list[str]:
    """BFCL's own scores (its harness, offline categories) per model, beside the published anchor."""
    from fcray.eval.bfcl_harness import ANCHORS_QWEN3_0_6B

    if not bfcl:
        return ["", "## BFCL", "", "Not run yet: `fcray eval --bfcl` runs BFCL's own harness (offline categories)."]
    sections = ("non_live", "live", "irrelevance", "multi_turn")
    lines = ["", "## BFCL (its own harness, offline categories)", "",
             "BFCL v4 accuracy (%) from `bfcl evaluate`. *offline overall*: BFCL's weights (10/10/10/30) over the "
             "categories run; BFCL's own overall also weighs agentic (40, needs the network) as 0.", "",
             "| model | entries per category | " + " | ".join(sections) + " | offline overall | BFCL overall |",
             "|" + "---|" * (len(sections) + 4)]

    def pct(value):
        return "–" if value is None else f"{value:.2f}"

    for name, scores in bfcl.items():
        entries = scores.get("max_entries_per_category") or "all"
        lines.append(f"| {name} | {entries} | " + " | ".join(pct(scores["sections"].get(s)) for s in sections)
                     + f" | {pct(scores.get('offline_overall'))} | {pct(scores.get('bfcl_overall'))} |")
    anchor = ANCHORS_QWEN3_0_6B
    lines.append("| Qwen3-0.6B (FC), published | all | " + " | ".join(pct(anchor[s]) for s in sections)
                 + f" | – | {pct(anchor['overall'])} |")
    return lines


def _decoding_note(results: dict[str, Any]) -> str:
    """How a column was decoded when it was not the default: the tool-call grammar, fcray's prompt as text."""
    notes = []
    if results.get("endpoint_api") == "completions":
        notes.append("fcray's prompt through the completion endpoint")
    decoding = results.get("decoding") or {}
    if decoding.get("constrained"):
        notes.append("tool calls constrained" + (", a call required" if decoding.get("require_call") else ""))
    return "".join(f", {note}" for note in notes)


def markdown(results: dict[str, dict[str, Any]], differences: dict[tuple[str, str], dict[str, Any]],
             plots: list[str], bfcl: dict[str, dict[str, Any]] | None = None,
             edge: dict[str, Any] | None = None, bench: list[dict[str, Any]] | None = None) -> str:
    names = list(results)
    conf = int(round(100 * next(iter(results.values())).get("confidence", 0.95)))
    n = {name: r["examples"] for name, r in results.items()}
    lines = ["# fcray report", "",
             f"Held-out validation, scored with fcray.toolcall (the checks GRPO's rewards use). Cells: mean "
             f"[{conf}% bootstrap interval]; Δ columns: paired difference over the same examples.", "",
             "Models: " + "; ".join(f"**{name}** = `{r['model']}` ({n[name]} examples, backend {r['backend']}"
                                    f"{_decoding_note(r)})" for name, r in results.items()), ""]
    pairs = list(differences)
    header = ["metric", *names, *[f"Δ {b} − {a}" for a, b in pairs]]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for metric in REPORT_METRICS:
        if not any(metric in results[name]["metrics"] for name in names):
            continue
        cells = [_interval(results[name]["metrics"].get(metric)) for name in names]
        cells += [_interval(differences[p].get(metric), signed=True) for p in pairs]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    lines += ["", "Metric definitions: " + "; ".join(f"`{k}`: {METRICS[k].doc}" for k in REPORT_METRICS), "",
              "## By category", ""]
    categories = sorted({c for r in results.values() for c in r["by_category"]})
    header = ["category", "metric", *names]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for category in categories:
        for metric in CATEGORY_METRICS:
            cells = [_interval(results[name]["by_category"].get(category, {}).get(metric)) for name in names]
            if any(c != "–" for c in cells):
                size = next(results[name]["by_category"][category][metric]["n"] for name in names
                            if metric in results[name]["by_category"].get(category, {}))
                lines.append(f"| {category} (n={size}) | {metric} | " + " | ".join(cells) + " |")
    lines += bfcl_section(bfcl)
    lines += edge_section(edge)
    lines += load_test_section(bench)
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


# (column title, row key, format) of the serving machines' figures a load-test cell may carry
RESOURCE_COLUMNS = (("GPU util %", "gpu_util_pct", "{:.0f}"), ("GPU mem GiB", "gpu_mem_used_gib", "{:.1f}"),
                    ("CPU util %", "cpu_util_pct", "{:.0f}"), ("node mem GiB", "node_mem_used_gib", "{:.1f}"),
                    ("KV cache %", "kv_cache_usage_pct", "{:.0f}"))


def load_test_section(bench: list[dict[str, Any]] | None) -> list[str]:
    """`fcray bench`'s cells: latency percentiles and throughput per prompt length and concurrency.

    >>> row = {"prompt_tokens": 256, "concurrency": 4, "requests": 48, "errors": 0, "ttft_p50_s": 0.08,
    ...        "ttft_p95_s": 0.1, "ttft_p99_s": 0.12, "tpot_p50_s": 0.02, "tpot_p95_s": 0.025, "tpot_p99_s": 0.03,
    ...        "e2e_p95_s": 1.5, "output_tokens_per_s": 210.0}
    >>> load_test_section([row])[-1]
    '| 256 | 4 | 48 | 0 | 80 / 100 / 120 | 20.0 / 25.0 / 30.0 | 1.50 | 210 |'
    """
    rows = [r for r in bench or [] if r.get("concurrency") is not None]
    if not rows:
        return []

    def ms(value, fmt="{:.0f}"):
        return "–" if value is None else fmt.format(value * 1000)

    # resource columns only where some cell has the figure (GPU ones on GPUs, none without resource metrics)
    extra = [(title, key, fmt) for title, key, fmt in RESOURCE_COLUMNS if any(r.get(key) is not None for r in rows)]
    lines = ["", "## Load test", "",
             "Closed-loop streaming users (`fcray bench`); TTFT: time to the first token; TPOT: time per output "
             "token after the first; milliseconds at P50 / P95 / P99." +
             (" Utilisation: mean over the cell; memory and KV cache: peak (Ray's and vLLM's gauges, "
              "`bench.resource_metrics`)." if extra else ""), "",
             "| prompt tokens | concurrency | requests | errors | TTFT ms | TPOT ms | E2E P95 s | output tok/s |" +
             "".join(f" {title} |" for title, _, _ in extra),
             "|" + "---|" * (8 + len(extra))]
    for r in sorted(rows, key=lambda r: (r["prompt_tokens"], r["concurrency"])):
        ttft = " / ".join(ms(r.get(f"ttft_p{q}_s")) for q in (50, 95, 99))
        tpot = " / ".join(ms(r.get(f"tpot_p{q}_s"), "{:.1f}") for q in (50, 95, 99))
        e2e = "–" if r.get("e2e_p95_s") is None else f"{r['e2e_p95_s']:.2f}"
        lines.append(f"| {r['prompt_tokens']} | {r['concurrency']} | {r['requests']} | {r['errors']} | {ttft} | "
                     f"{tpot} | {e2e} | {r['output_tokens_per_s']:.0f} |" +
                     "".join(f" {'–' if r.get(key) is None else fmt.format(r[key])} |" for _, key, fmt in extra))
    skipped = [r for r in bench or [] if r.get("skipped")]
    lines += [f"- prompt {r['prompt_tokens']}: {r['skipped']}" for r in skipped]
    return lines


def edge_section(edge: dict[str, Any] | None) -> list[str]:
    """The GGUF files of C on llama.cpp: size, memory, latency, speed and what quantizing costs."""
    from fcray.eval.edge import gguf_label

    if not edge or not edge.get("files"):
        return []
    mib = 2 ** 20
    lines = ["", "## Edge (GGUF on llama.cpp)", "",
             f"`{edge['name']}` exported with llama.cpp's converter and quantizer (f16: {edge['f16_bytes'] / mib:.1f} MiB), "
             f"served by llama.cpp's server with {edge['threads']} thread(s), one request at a time. TTFT: first "
             "streamed token seen by the client; prefill and decode tokens/s: llama.cpp's own timings (medians).", "",
             "| file | MiB | load s | peak RSS MiB | TTFT P50 / P95 ms | prefill tok/s | decode tok/s | exact match "
             "| name acc. | parse |", "|" + "---|" * 10]

    def cell(value, fmt="{:.3f}"):
        return "–" if value is None else fmt.format(value)

    for kind, f in edge["files"].items():
        ttft = f.get("ttft_ms") or {}
        lines.append(f"| {gguf_label(kind)} | {f['file_bytes'] / mib:.1f} | {f['load_seconds']:.2f} | "
                     f"{cell(f['peak_rss_bytes'] and f['peak_rss_bytes'] / mib, '{:.0f}')} | "
                     f"{cell(ttft.get('p50'), '{:.0f}')} / {cell(ttft.get('p95'), '{:.0f}')} | "
                     f"{cell(f['prompt_tokens_per_s'], '{:.0f}')} | {cell(f['generation_tokens_per_s'], '{:.0f}')} | "
                     f"{cell(f['exact_match'])} | {cell(f['name_accuracy'])} | {cell(f['parse_rate'])} |")
    checks = edge.get("checks") or {}
    if checks:
        prompts = next(iter(checks.values()))["tokenization"]["prompts"]
        lines += ["", f"llama.cpp tokenized all {prompts} validation prompts exactly as the Hugging Face tokenizer "
                      "does, for every file; greedy tokens shared with the Hugging Face model (first 16, 4 prompts): "
                  + ", ".join(f"{k} {c['greedy_prefix_agreement']:.2f}" for k, c in checks.items()) + "."]
    return lines


def plot_edge(edge: dict[str, Any], results: dict[str, dict[str, Any]], path: Path) -> bool:
    """File size against exact match per GGUF file, with C's own (unquantized) exact match as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fcray.eval.edge import gguf_label

    files = (edge or {}).get("files") or {}
    if not files:
        return False
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    sizes = [f["file_bytes"] / 2**20 for f in files.values()]
    exact = [f["exact_match"] or 0.0 for f in files.values()]
    ax.scatter(sizes, exact)
    for kind, x, y in zip(files, sizes, exact):
        ax.annotate(gguf_label(kind), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    reference = (results.get("grpo (C)") or {}).get("metrics", {}).get("exact_match")
    if reference:
        ax.axhline(reference["mean"], linestyle="--", color="gray", label="C (Hugging Face, f32)")
        ax.legend(fontsize=8)
    ax.set_xlabel("GGUF file size (MiB)")
    ax.set_ylabel("exact match (held-out)")
    ax.set_xlim(0, max(sizes) * 1.3)
    ax.set_title("What quantization costs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_metrics(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    metrics = [m for m in REPORT_METRICS if any(m in results[n]["metrics"] for n in names)]
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(metrics)), 4.5))
    for k, name in enumerate(names):
        xs, means, errors = [], [], [[], []]
        for i, metric in enumerate(metrics):
            est = results[name]["metrics"].get(metric)
            if est is None:
                continue
            xs.append(i + (k - (len(names) - 1) / 2) * width)
            means.append(est["mean"])
            errors[0].append(est["mean"] - est["low"])
            errors[1].append(est["high"] - est["mean"])
        ax.bar(xs, means, width, yerr=errors, capsize=2, label=name)
    ax.set_xticks(range(len(metrics)), metrics, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate / score")
    ax.set_title("held-out metrics per model (bars: bootstrap interval)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reward_curves(records: list[dict[str, Any]], path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [(key, title) for key, title in REWARD_CURVES if any(key in r for r in records)]
    if not curves:
        return False
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for key, title in curves:
        points = [(r["step"], r[key]) for r in records if key in r]
        ax.plot([p[0] for p in points], [p[1] for p in points], label=title, linewidth=2 if key == "reward" else 1)
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("mean over the step's completions")
    ax.set_title("GRPO rewards over training")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_load_test(bench: list[dict[str, Any]], path: Path) -> bool:
    """TTFT P50/P95/P99 and output tokens/s against concurrency, one colour per prompt length (`fcray bench`
    rows); P50 solid, P95 dashed, P99 dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in bench if {"concurrency", "ttft_p95_s", "output_tokens_per_s"} <= set(r)]
    if not rows:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {50: "-", 95: "--", 99: ":"}
    for index, length in enumerate(sorted({r.get("prompt_tokens", 0) for r in rows})):
        colour = f"C{index}"
        cell = sorted((r for r in rows if r.get("prompt_tokens", 0) == length), key=lambda r: r["concurrency"])
        levels = [r["concurrency"] for r in cell]
        for q, style in styles.items():
            values = [r.get(f"ttft_p{q}_s") for r in cell]
            if any(v is not None for v in values):
                left.plot(levels, [float("nan") if v is None else v for v in values], style, marker="o",
                          color=colour, label=f"{length} tok, P{q}")
        right.plot(levels, [r["output_tokens_per_s"] for r in cell], marker="o", color=colour, label=f"{length} tok")
    levels = sorted({r["concurrency"] for r in rows})
    for ax, ylabel, title in ((left, "TTFT (s)", "time to first token: P50 — P95 -- P99 ··"),
                              (right, "output tokens/s", "throughput")):
        ax.set(xlabel="concurrency", ylabel=ylabel, title=title, xscale="log")
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.minorticks_off()
    left.legend(fontsize=7, ncol=2)
    right.legend(title="prompt", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(runs: dict[str, str | Path], out: str | Path, grpo_run: str | Path | None = None,
                 bench_results: str | Path | None = None, edge_results: str | Path | None = None,
                 pairs: list[tuple[str, str]] | None = None) -> Path:
    """``out/report.md`` + PNGs from eval run folders ``{label: folder}`` (in stage order); Δ columns for
    ``pairs`` of labels (default: consecutive runs)."""
    from fcray.grpo.metrics import read_metrics

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {name: Path(folder) for name, folder in runs.items()}
    if not runs:
        raise ValueError("nothing to report: no eval results (run `fcray eval` or the training jobs first)")
    results = {name: load_results(folder) for name, folder in runs.items()}
    differences = _differences(runs, results, [p for p in pairs if set(p) <= set(runs)] if pairs else None)
    plots = ["metrics.png"]
    plot_metrics(results, out / "metrics.png")
    if grpo_run is not None and plot_reward_curves(read_metrics(grpo_run), out / "grpo_rewards.png"):
        plots.append("grpo_rewards.png")
    bench = None
    if bench_results is not None and Path(bench_results).exists():
        bench = json.loads(Path(bench_results).read_text())
        if plot_load_test(bench, out / "load_test.png"):
            plots.append("load_test.png")
    bfcl = {name: json.loads((folder / "bfcl" / "bfcl_results.json").read_text()) for name, folder in runs.items()
            if (folder / "bfcl" / "bfcl_results.json").exists()}
    edge = json.loads(Path(edge_results).read_text()) if edge_results and Path(edge_results).exists() else None
    if edge and plot_edge(edge, results, out / "edge.png"):
        plots.append("edge.png")
    text = markdown(results, differences, plots, bfcl, edge, bench)
    (out / "report.md").write_text(text)
    (out / "report.json").write_text(json.dumps(
        {"results": results, "bfcl": {n: {k: v for k, v in s.items() if k != "tables"} for n, s in bfcl.items()},
         "differences": {f"{b} - {a}": d for (a, b), d in differences.items()}, "edge": edge}, indent=2) + "\n")
    return out / "report.md"
