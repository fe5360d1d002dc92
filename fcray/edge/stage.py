"""The edge stage: which model to export, where its files go, and the export with its checks.

``fcray export gguf`` and ``python -m jobs.export gguf`` call :func:`export_model`; ``fcray edge serve``
calls :func:`gguf_to_serve`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fcray.edge import EdgeError


def model_folder(config: Any, model: str | None = None) -> Path:
    """``model`` (a folder, a Hub id in the local cache, ``tiny``), else the newest of the pipeline's
    GRPO "C", SFT "B" and base "A" models under ``workdir``."""
    from fcray.model.tiny import resolve_model_path
    from fcray.workdir import newest_trained_model

    choice = model or "pipeline"
    if choice == "pipeline":
        newest = newest_trained_model(config)
        return Path(newest or resolve_model_path(config.model.name_or_path, config.model.tiny))
    if choice == "tiny":
        return Path(resolve_model_path("tiny", config.model.tiny))
    path = Path(choice).expanduser()
    if path.exists() or choice.startswith(("/", ".", "~")):
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"model folder {choice} does not exist or has no config.json")
        return path.resolve()
    from huggingface_hub import snapshot_download

    try:  # a Hub id: the converter reads a local folder (the Hub cache, or a download where one is allowed)
        return Path(snapshot_download(choice, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.jinja",
                                                              "tokenizer.model"]))
    except Exception as error:  # noqa: BLE001 — huggingface_hub raises many kinds; the message says which
        raise EdgeError(f"cannot get the Hub model {choice} ({type(error).__name__}: {error}); pass a local "
                        "model folder instead") from None


def validation_prompts(config: Any, tokenizer: Any, limit: int | None) -> list[str]:
    from fcray.data.export import render_prompt
    from fcray.data.pipeline import ensure_dataset, validation_examples

    ensure_dataset(config.data, config.workdir)
    examples = validation_examples(config.workdir)
    examples = examples if limit is None else examples[:limit]
    return [render_prompt(e, tokenizer, config.model.enable_thinking) for e in examples]


def export_model(config: Any, model: str | None = None, out: str | None = None, check: bool = True,
                 log=print) -> dict[str, Any]:
    """GGUF files of ``model`` at ``edge.quantizations`` into ``out`` (default ``<workdir>/gguf/<name>``),
    each checked by llama.cpp (tokenization of the validation prompts, greedy generation); the record is
    ``export.json`` beside them."""
    from transformers import AutoTokenizer

    from fcray.edge.check import check_files
    from fcray.edge.gguf import export_gguf, model_name
    from fcray.workdir import gguf_dir

    folder = model_folder(config, model)
    name = model_name(folder)
    target = Path(out) if out else gguf_dir(config, name)
    record = export_gguf(folder, target, config.edge.quantizations, name=name,
                         modelfile_quantization=config.edge.serve_quantization, threads=config.edge.threads, log=log)
    if check:
        prompts = validation_prompts(config, AutoTokenizer.from_pretrained(folder), config.edge.check_prompts)
        record["checks"] = check_files(record, prompts, config.edge, log=log)
        (target / "export.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def gguf_to_serve(config: Any, gguf: str | None = None, model: str | None = None) -> Path:
    """``gguf`` as given, else the ``edge.serve_quantization`` file of ``model``'s export (exported now if
    it does not exist yet)."""
    from fcray.edge.gguf import model_name
    from fcray.workdir import gguf_dir

    if gguf:
        path = Path(gguf)
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file {gguf} does not exist (write one with `fcray export gguf`)")
        return path
    folder = model_folder(config, model)
    name = model_name(folder)
    path = gguf_dir(config, name) / f"{name}-{config.edge.serve_quantization}.gguf"
    if not path.exists():
        export_model(config, str(folder), check=False)
    return path
