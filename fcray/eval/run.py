"""`fcray eval`: predictions for one model on a validation set, scored with fcray.toolcall, resumable.

``<out>/predictions.jsonl`` gets one line per example (id, category, raw completion, parsed calls, every
check's verdict, any generation error) appended after each batch, so a run that stops (a crash, a lost
endpoint) keeps what it has: the next run with the same settings generates only the missing examples.
``<out>/results.json`` holds the metrics with bootstrap intervals, overall and per category.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import time
from pathlib import Path
from typing import Any

from fcray.config import EvalConfig
from fcray.eval.errors import EvalError
from fcray.eval.metrics import summarize, verdict

PREDICTIONS = "predictions.jsonl"
RESULTS = "results.json"
MANIFEST = "eval_run.json"
# Settings that change what a prediction is: a resumed run must use the same ones.
_PREDICTION_SETTINGS = ("backend", "max_new_tokens", "temperature", "seed", "max_examples")


def sample_examples(examples: list[dict[str, Any]], config: EvalConfig) -> list[dict[str, Any]]:
    """A seeded sample of ``max_examples`` (all of them when unset); the same seed gives the same sample
    across models, so their results can be compared example by example."""
    if config.max_examples is None or config.max_examples >= len(examples):
        return examples
    return random.Random(config.seed).sample(examples, config.max_examples)


def check_model(model: str, backend: str) -> None:
    """A local model folder must exist and hold a model; a Hub id (``org/name``) is left to the loader;
    an endpoint's model is a served name."""
    if backend == "endpoint":
        return
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"model folder {path} has no config.json: pass a Hugging Face model folder "
                                    "(e.g. <run>/model from `fcray sft`/`fcray grpo`)")
    elif model.startswith(("/", ".", "~")) or model.count("/") != 1:
        raise FileNotFoundError(f"model folder {model} does not exist (and it is not a Hub id such as "
                                "Qwen/Qwen3-0.6B)")


def _fingerprint(examples: list[dict[str, Any]]) -> str:
    return hashlib.sha256("\n".join(e["id"] for e in examples).encode()).hexdigest()[:16]


def _model_fingerprint(model: str) -> str:
    """Changes when a local model folder is rewritten (a retrained model at the same path must not reuse
    the old predictions); a Hub id or served name stands for itself."""
    path = Path(model).expanduser()
    if not path.is_dir():
        return model
    files = sorted((p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in path.rglob("*") if p.is_file())
    return hashlib.sha256(json.dumps(files).encode()).hexdigest()[:16]


def decoding_settings(config: EvalConfig, decoding: Any = None) -> dict[str, Any]:
    """What else changes the predictions, beyond the prediction settings: the endpoint API when it is not
    chat, the grammar's settings when decoding is constrained (absent otherwise, so older runs stay valid)."""
    out: dict[str, Any] = {}
    if config.backend == "endpoint" and config.endpoint_api != "chat":
        out["endpoint_api"] = config.endpoint_api
    if decoding is not None and decoding.constrained:
        out["decoding"] = dataclasses.asdict(decoding)
    return out


def _manifest(model: str, config: EvalConfig, examples: list[dict[str, Any]], decoding: Any = None) -> dict[str, Any]:
    return {"model": model, "model_fingerprint": _model_fingerprint(model), "examples": _fingerprint(examples),
            **{k: getattr(config, k) for k in _PREDICTION_SETTINGS}, **decoding_settings(config, decoding)}


def _read_predictions(out: Path, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Predictions a previous run of the same settings left; an error if the settings differ."""
    path = out / PREDICTIONS
    if not path.exists():
        return {}
    previous = json.loads((out / MANIFEST).read_text()) if (out / MANIFEST).exists() else None
    if previous != manifest:
        changed = sorted(k for k in manifest if (previous or {}).get(k) != manifest[k])
        if changed == ["model_fingerprint"]:
            path.unlink()  # the model was retrained or re-exported: its old predictions are void
            return {}
        raise EvalError(f"{out} holds predictions made with other settings ({', '.join(changed)} differ): "
                         f"pass another output folder, or delete {path} to start over")
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        # A run killed mid-write leaves a cut last line: drop it, that example is generated again.
        data = data[:data.rfind(b"\n") + 1]
        path.write_bytes(data)
    done = {}
    for lineno, line in enumerate(data.decode().splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise EvalError(f"{path}:{lineno}: not valid JSON; delete the file to start over") from None
        done[row["id"]] = row
    return done


def _append(fd: int, data: bytes) -> None:
    """Write all of ``data`` (a short write, as a filling disk gives, continues until done or an error)."""
    while data:
        data = data[os.write(fd, data):]
    os.fsync(fd)


def _prediction_row(example: dict[str, Any], generation: Any) -> dict[str, Any]:
    return {"id": example["id"], "category": example["category"], "kind": example["ground_truth"]["kind"],
            "completion": generation.text,
            "finish_reason": generation.finish_reason, "error": generation.error,
            **({"response": generation.raw} if generation.raw is not None else {}),
            **verdict(generation.text, example)}


def run_eval(model: str, examples: list[dict[str, Any]], config: EvalConfig, out: str | Path,
             backend: Any = None, log=print, decoding: Any = None) -> dict[str, Any]:
    """Generate (what is missing), score, and write ``predictions.jsonl`` and ``results.json`` under ``out``.
    ``backend`` defaults to ``config.backend`` built for ``model`` (decoding with ``decoding``, a
    :class:`fcray.config.DecodingConfig`, when given); returns the results."""
    from fcray.eval.backends import make_backend
    from fcray.progress import report as report_progress

    check_model(model, config.backend)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    examples = sample_examples(examples, config)
    ids = [e["id"] for e in examples]
    if len(set(ids)) != len(ids):
        raise EvalError("the validation set repeats example ids; predictions are keyed by id")
    manifest = _manifest(model, config, examples, decoding)
    done = _read_predictions(out, manifest)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    todo = [e for e in examples if e["id"] not in done]
    start = time.perf_counter()
    if todo:
        log(f"[fcray eval] {model}: {len(todo)} of {len(examples)} examples to generate ({config.backend})"
            + (f", {len(done)} kept from the previous run" if done else ""))
        owned = backend is None
        backend = make_backend(model, config, decoding) if owned else backend
        try:
            # unbuffered appends, one fsync per batch: a failed write leaves nothing queued to fail again
            fd = os.open(out / PREDICTIONS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                for begin in range(0, len(todo), config.batch_size):
                    batch = todo[begin:begin + config.batch_size]
                    rows = [_prediction_row(e, g) for e, g in zip(batch, backend.generate(batch))]
                    try:
                        _append(fd, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode())
                    except OSError as error:  # a full disk, a quota: say so; what was written stays usable
                        raise EvalError(f"cannot write {out / PREDICTIONS}: {error.strerror}; the {len(done)} "
                                        f"predictions before this batch are kept (a cut last line is dropped on "
                                        f"resume): free space and rerun to go on") from None
                    done.update((row["id"], row) for row in rows)
                    log(f"[fcray eval] {min(begin + config.batch_size, len(todo))}/{len(todo)}")
                    report_progress(f"eval {out.name}", min(begin + config.batch_size, len(todo)), len(todo))
            finally:
                os.close(fd)
        finally:
            if owned:
                backend.close()
    rows = [done[i] for i in ids]
    results = {"model": model, "backend": config.backend, "seconds": time.perf_counter() - start,
               **decoding_settings(config, decoding),
               **summarize(rows, examples, config.bootstrap_samples, config.confidence, config.seed)}
    try:
        (out / RESULTS).write_text(json.dumps(results, indent=2) + "\n")
    except OSError as error:
        raise EvalError(f"cannot write {out / RESULTS}: {error.strerror}; every prediction is in "
                        f"{out / PREDICTIONS}: free space and rerun to score them") from None
    return results


def load_results(path: str | Path) -> dict[str, Any]:
    """``results.json`` of an eval run (the file, or the folder holding it)."""
    path = Path(path)
    path = path / RESULTS if path.is_dir() else path
    if not path.exists():
        raise EvalError(f"{path}: no eval results (run `fcray eval` first)")
    return json.loads(path.read_text())


def load_predictions(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    path = path / PREDICTIONS if path.is_dir() else path
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):  # a cut last line (a killed run, a full disk): not a prediction
        data = data[:data.rfind(b"\n") + 1]
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]
