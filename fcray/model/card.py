"""Model cards the Hugging Face Hub understands: the Hub's YAML metadata (base_model, library_name,
pipeline_tag, tags, datasets, license) above fcray's own sections (data, recipe, training metrics, export
check), and a ``model-index`` filled from fcray's eval of that model (:func:`add_eval_results`).

Everything goes through ``huggingface_hub``'s card classes (``ModelCard``, ``ModelCardData``,
``EvalResult``), so what the Hub parses is what fcray writes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

CARD = "README.md"
LICENSE = "apache-2.0"  # Qwen3's license, and fcray's (its embedded tiny base is fcray's own)
HUB_DATASETS = {"xlam": "Salesforce/xlam-function-calling-60k", "hermes": "NousResearch/hermes-function-calling-v1"}
STAGES = {
    "sft": ("SFT", "supervised fine-tuning with TRL's SFTTrainer on Ray Train workers"),
    "grpo": ("GRPO", "GRPO with TRL's GRPOTrainer on Ray Train workers, rollouts from vLLM engines in Ray "
                     "actors, rewards from fcray's verifiers (parse, schema, execution, result, AST match)"),
}
# fcray's eval metrics shown in model-index, with the names the Hub displays
CARD_METRICS = {"exact_match": "exact (AST) match", "name_accuracy": "function-name accuracy",
                "args_f1": "argument F1", "parse_rate": "parse rate", "schema_rate": "schema-valid rate",
                "result_match": "execution result match", "irrelevance_accuracy": "irrelevance accuracy",
                "slot_filling_accuracy": "slot-filling accuracy", "accuracy": "turn accuracy",
                "mean_reward": "mean reward"}
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def hub_id(name: str | None) -> str | None:
    """``name`` when it reads as a Hub repo id (``org/name``) and is not a local path; else None."""
    if not name or not _HUB_ID.fullmatch(name) or Path(name).exists():
        return None
    return name


def hub_datasets(source: str, path: str | None) -> list[str]:
    """The Hub datasets a model was trained on: the configured Hub id, the source's default one, or none
    (fcray's synthetic data and local files are not on the Hub)."""
    if hub_id(path):
        return [path]  # type: ignore[list-item]
    if path is None and source in HUB_DATASETS:
        return [HUB_DATASETS[source]]
    return []


def eval_dataset(source: str, path: str | None) -> str:
    """The ``dataset_type`` of a card's eval results: the Hub dataset, else fcray's name for the source."""
    return (hub_datasets(source, path) or [f"fcray/{source}"])[0]


def write_model_card(out: str | Path, stage: str, trained_from: str, recipe: dict[str, Any],
                     root_base: str | None = None, datasets: list[str] | None = None,
                     data_summary: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
                     verification: dict[str, Any] | None = None) -> Path:
    """``<out>/README.md`` for a model made by ``stage`` ("sft" or "grpo") from ``trained_from`` (the
    base for SFT, the SFT model for GRPO). ``root_base`` is the pipeline's base model: a Hub id becomes
    the card's ``base_model``; a local folder (the embedded tiny base) is named in the text only."""
    from huggingface_hub import ModelCard, ModelCardData

    short, how = STAGES[stage]
    base = hub_id(root_base)
    data = ModelCardData(
        base_model=base, library_name="transformers", pipeline_tag="text-generation", license=LICENSE,
        tags=["fcray", "function-calling", "tool-calling", "trl", short.lower(), "qwen3"],
        datasets=datasets or None, model_name=Path(out).parent.name,
        **({"base_model_relation": "finetune"} if base else {}))
    lines = [f"# {Path(out).parent.name}: an fcray function-calling model ({short})", "",
             f"Trained by fcray ({how}) from `{trained_from}` to call tools in Qwen3's Hermes format "
             "(`<tool_call>\\n{\"name\": ..., \"arguments\": {...}}\\n</tool_call>`).", ""]
    if data_summary:
        lines += ["## Data", "", "```json", json.dumps(data_summary, indent=2), "```", ""]
    lines += ["## Recipe", "", "```json", json.dumps(recipe, indent=2, default=str), "```", ""]
    if metrics:
        lines += ["## Training metrics", "", "```json", json.dumps(metrics, indent=2), "```", ""]
    if verification:
        lines += ["## Export check", "", "```json", json.dumps(verification, indent=2), "```", ""]
    path = Path(out) / CARD
    ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines)).save(path)
    return path


def add_eval_results(model_dir: str | Path, results: dict[str, Any], dataset: str) -> bool:
    """Put fcray's eval ``results`` of this model (``results.json``'s content) into its card's
    ``model-index``, replacing earlier ones; False when the folder has no card of fcray's."""
    from huggingface_hub import EvalResult, ModelCard

    path = Path(model_dir) / CARD
    if not path.exists():
        return False
    card = ModelCard.load(path)
    if "fcray" not in (card.data.tags or []):
        return False  # not fcray's card: leave it alone
    card.data.eval_results = [
        EvalResult(task_type="text-generation", task_name="Function calling (fcray eval)",
                   dataset_type=dataset, dataset_split="validation",
                   dataset_name=f"{dataset}, fcray's held-out split ({results['examples']} examples)",
                   metric_type=name, metric_name=CARD_METRICS[name],
                   metric_value=round(results["metrics"][name]["mean"], 4))
        for name in CARD_METRICS if name in results["metrics"]]
    card.data.model_name = card.data.model_name or Path(model_dir).parent.name
    card.save(path)
    return True
