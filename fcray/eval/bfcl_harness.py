"""BFCL through its own harness, offline: ``bfcl generate`` against a local vLLM server, then ``bfcl evaluate``.

fcray does not re-implement BFCL. It registers the model under test in BFCL's model table with a handler
that subclasses BFCL's own ``QwenFCHandler`` (Qwen3's Hermes format, which fcray trains), starts a vLLM
OpenAI-compatible server for the model folder (:mod:`fcray.eval.vllm_server`), and runs BFCL's generation
(``--skip-server-setup``, ``--local-model-path``) and evaluation entry points in a child process whose
``BFCL_PROJECT_ROOT`` is the output folder (BFCL reads it at import). Scores are BFCL's own CSVs. The child
runs in fcray's sandbox (:mod:`fcray.sandbox`): BFCL's multi-turn checker ``eval()``s the model's calls.

The categories that need no network: non-live and live AST (incl. irrelevance and relevance) and
multi-turn. Agentic categories (web search, memory) need the internet and are not run; BFCL's own overall
counts them as 0, so fcray also reports the overall over the categories run with BFCL's weights
renormalised (non-live 10, live 10, irrelevance 10, multi-turn 30).
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fcray.sandbox import Confinement, run_confined

OFFLINE_CATEGORIES = ("non_live", "live", "multi_turn")
# BFCL's overall weights (eval_runner_helper.generate_leaderboard_csv); agentic needs the network.
BFCL_WEIGHTS = {"non_live": 10, "live": 10, "irrelevance": 10, "multi_turn": 30, "agentic": 40}
# Published BFCL v4 figures for Qwen3-0.6B (FC), the anchor a real run of the qwen3-0.6b preset compares to.
ANCHORS_QWEN3_0_6B = {"non_live": 71.79, "live": 56.62, "irrelevance": 80.84, "multi_turn": 3.62, "overall": 23.93}
REGISTRY_NAME = "fcray-model-FC"  # no "_" or "/": BFCL maps "_" back to "/" when it builds its tables


@dataclass
class BFCLRun:
    """What the child process needs (passed as JSON)."""

    model: str                                   # model folder, served under this same name
    out: str                                     # BFCL_PROJECT_ROOT: result/ and score/ land here
    categories: list[str] = field(default_factory=lambda: list(OFFLINE_CATEGORIES))
    max_entries_per_category: int | None = None  # None: every entry (the real benchmark)
    max_new_tokens: int | None = None            # cap per request (None: BFCL's own, up to 4096)
    temperature: float = 0.001                   # BFCL's default
    num_threads: int = 8
    display_name: str = "fcray model (FC)"


def make_handler_class(max_new_tokens: int | None):
    """BFCL's QwenFCHandler, with an optional cap on the tokens it asks for (BFCL asks for all the context
    that is left, up to 4096: a model that never stops would take that long on CPU)."""
    from bfcl_eval.model_handler.local_inference.qwen_fc import QwenFCHandler

    class _CappedCompletions:
        def __init__(self, completions: Any, cap: int) -> None:
            self._completions, self._cap = completions, cap

        def create(self, **kwargs: Any) -> Any:
            kwargs["max_tokens"] = min(kwargs.get("max_tokens") or self._cap, self._cap)
            return self._completions.create(**kwargs)

    class FcrayQwenFCHandler(QwenFCHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if max_new_tokens:
                self.client.completions = _CappedCompletions(self.client.completions, max_new_tokens)

    return FcrayQwenFCHandler


def register(run: BFCLRun) -> None:
    """Add the model to BFCL's model table (the dict every BFCL module reads), without forking BFCL."""
    from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING, ModelConfig

    MODEL_CONFIG_MAPPING[REGISTRY_NAME] = ModelConfig(
        model_name=run.model, display_name=run.display_name, url="https://github.com/fcray", org="fcray",
        license="apache-2.0", model_handler=make_handler_class(run.max_new_tokens), input_price=None,
        output_price=None, is_fc_model=True, underscore_to_dot=False)


def _select_ids(run: BFCLRun) -> None:
    """BFCL's ``test_case_ids_to_generate.json`` with the first N entries of each category."""
    from bfcl_eval.utils import load_dataset_entry, parse_test_category_argument

    ids = {c: [e["id"] for e in load_dataset_entry(c)][:run.max_entries_per_category]
           for c in parse_test_category_argument(run.categories)}
    (Path(run.out) / "test_case_ids_to_generate.json").write_text(json.dumps(ids, indent=2))


def child_main(run: BFCLRun) -> None:
    """Inside the child (BFCL_PROJECT_ROOT set): register, generate, evaluate."""
    from types import SimpleNamespace

    from bfcl_eval._llm_response_generation import main as generate
    from bfcl_eval.eval_checker.eval_runner import main as evaluate

    register(run)
    subset = run.max_entries_per_category is not None
    if subset:
        _select_ids(run)
    generate(SimpleNamespace(
        model=[REGISTRY_NAME], test_category=run.categories, temperature=run.temperature, include_input_log=False,
        exclude_state_log=True, num_gpus=1, num_threads=run.num_threads, gpu_memory_utilization=0.9,
        backend="vllm", skip_server_setup=True, local_model_path=run.model, result_dir=None, allow_overwrite=False,
        run_ids=subset, enable_lora=False, max_lora_rank=None, lora_modules=None))
    evaluate([REGISTRY_NAME], run.categories, None, None, partial_eval=subset)


def _percent(value: str) -> float | None:
    value = value.strip()
    return float(value.rstrip("%")) if value and value != "N/A" else None


def read_scores(out: str | Path) -> dict[str, Any]:
    """BFCL's score tables for the registered model, plus fcray's offline overall.

    A section (non-live, live, multi-turn) is reported when BFCL generated results for it; its figure is
    BFCL's own (which counts a category of the section that was not run as 0). Irrelevance is BFCL's
    mean of the non-live and live irrelevance detection, over those that ran."""
    score, results = Path(out) / "score", Path(out) / "result" / REGISTRY_NAME
    ran = {d.name for d in results.iterdir() if d.is_dir() and any(d.iterdir())} if results.exists() else set()
    rows: dict[str, dict[str, str] | None] = {}
    for table in ("data_overall", "data_non_live", "data_live", "data_multi_turn"):
        path = score / f"{table}.csv"
        if path.exists():
            with open(path) as f:
                rows[table] = next((r for r in csv.DictReader(f) if r.get("Model", "").startswith("fcray")), None)

    def cell(table: str, column: str) -> float | None:
        return _percent((rows.get(table) or {}).get(column, ""))

    irrelevance = [v for v in (cell("data_non_live", "Irrelevance Detection"), cell("data_live", "Irrelevance Detection"))
                   if v is not None]
    sections = {
        "non_live": cell("data_non_live", "Non-Live Overall Acc") if "non_live" in ran else None,
        "live": cell("data_live", "Live Overall Acc") if "live" in ran else None,
        "irrelevance": sum(irrelevance) / len(irrelevance) if irrelevance else None,
        "multi_turn": cell("data_multi_turn", "Multi Turn Overall Acc") if "multi_turn" in ran else None,
    }
    present = {k: v for k, v in sections.items() if v is not None}
    weights = sum(BFCL_WEIGHTS[k] for k in present)
    return {
        "sections": sections,
        "bfcl_overall": cell("data_overall", "Overall Acc"),  # agentic not run: BFCL counts it as 0
        "offline_overall": sum(BFCL_WEIGHTS[k] * v for k, v in present.items()) / weights if weights else None,
        "tables": rows,
    }


def harness_confinement(run: BFCLRun, host: str, port: str) -> Confinement:
    """BFCL's harness ``eval()``s the model's multi-turn calls against its simulated APIs, in its own process:
    that process runs in fcray's sandbox. It may write only its results folder, sees none of the caller's
    environment but where the served model is, and keeps the network (it asks that server for each turn)."""
    return Confinement(
        memory_bytes=16 << 30,  # address space, not resident memory: BFCL imports ~30 SDKs and runs threads
        writable=(str(Path(run.out).resolve()),), network=True,
        env={"BFCL_PROJECT_ROOT": str(Path(run.out).resolve()), "LOCAL_SERVER_ENDPOINT": host,
             "LOCAL_SERVER_PORT": port, "HF_HUB_OFFLINE": "1"})


def run_bfcl(run: BFCLRun, server: Any, log=print) -> dict[str, Any]:
    """Serve ``run.model`` with vLLM, run BFCL's generation and evaluation against it, return the scores
    (also written to ``<out>/bfcl_results.json``)."""
    from fcray.toolcall.bfcl import INSTALL_HINT, bfcl_available
    from fcray.eval.vllm_server import vllm_server

    if not bfcl_available():
        raise ImportError(INSTALL_HINT)
    Path(run.out).mkdir(parents=True, exist_ok=True)
    with vllm_server(server) as url:
        host, port = url.removeprefix("http://").removesuffix("/v1").split(":")
        log(f"[fcray bfcl] {run.model}: BFCL categories {run.categories} against {url} (sandboxed: BFCL's "
            f"multi-turn checker executes the model's calls)")
        code = run_confined([sys.executable, "-m", "fcray.eval.bfcl_harness", json.dumps(asdict(run))],
                            harness_confinement(run, host, port)).returncode
    if code != 0:
        raise RuntimeError(f"BFCL's harness exited with {code}; its output is above, results so far in {run.out}")
    scores = {"model": run.model, "categories": run.categories,
              "max_entries_per_category": run.max_entries_per_category, **read_scores(run.out)}
    (Path(run.out) / "bfcl_results.json").write_text(json.dumps(scores, indent=2) + "\n")
    return scores


if __name__ == "__main__":
    child_main(BFCLRun(**json.loads(sys.argv[1])))
