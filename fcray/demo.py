"""`fcray demo`: the main job — the whole pipeline on one preset, as far as its stages exist.

Stages run in order and each writes under ``<workdir>``; the demo prints where. Stages that later work
adds (SFT, GRPO, eval, report, serve) are listed as pending rather than faked.
"""

from __future__ import annotations

import time
from pathlib import Path

from fcray.config import FcrayConfig

PENDING = ("sft (issue #4)", "grpo (issue #5)", "eval + report (issue #6)", "serve (issue #7)", "bench (issue #8)")


def run_demo(config: FcrayConfig) -> int:
    from transformers import AutoTokenizer

    from fcray.data.export import render_text
    from fcray.data.io import load_examples
    from fcray.data.pipeline import build_dataset, format_summary
    from fcray.model.tiny import resolve_model_path

    workdir = Path(config.workdir)
    print(f"== fcray demo: preset '{config.preset}', outputs in {workdir.resolve()}")

    start = time.time()
    print("\n== [1/2] data")
    files = build_dataset(config.data, workdir / "data")
    print(format_summary(files))
    print(f"(data: {time.time() - start:.1f}s)")

    start = time.time()
    print("\n== [2/2] model")
    model_path = resolve_model_path(config.model.name_or_path, config.model.tiny)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    example = next(e for e in load_examples(files.validation) if e["category"] == "parallel")
    text = render_text(example, tokenizer, config.model.enable_thinking)
    print(f"model: {model_path}")
    print(f"one validation example ({example['id']}, {len(tokenizer(text)['input_ids'])} tokens), "
          f"as the model sees it (tool schemas elided):")
    # The template's prose mentions "<tools></tools>" first; the schemas sit in the "<tools>\n…\n</tools>" block.
    start, end = text.index("<tools>\n") + len("<tools>\n"), text.index("\n</tools>")
    names = ", ".join(t["function"]["name"] for t in example["tools"])
    print(text[:start] + f"[{len(example['tools'])} tool schemas: {names}]" + text[end:])
    print(f"(model: {time.time() - start:.1f}s)")

    print("\n== pending stages: " + ", ".join(PENDING))
    return 0
