from __future__ import annotations

import json

import pytest

from fcray.data.export import render_prompt, render_text, to_sharegpt
from fcray.data.io import decode_row, encode_row, load_examples, to_hf_dataset, write_jsonl, write_parquet
from fcray.data.report import DataError
from fcray.data.sources.hermes import convert_hermes_record


def test_parquet_and_datasets_roundtrip_keep_schemas_exact(tmp_path, synthetic_examples):
    write_parquet(synthetic_examples, tmp_path / "d.parquet")
    assert load_examples(tmp_path / "d.parquet") == synthetic_examples
    dataset = to_hf_dataset(synthetic_examples[:10])
    assert [decode_row(r) for r in dataset] == synthetic_examples[:10]
    assert encode_row(synthetic_examples[0])["tools"].startswith('[{"type": "function"')


def test_load_examples_fails_loudly_on_bad_rows(tmp_path, synthetic_examples):
    path = tmp_path / "d.jsonl"
    write_jsonl(synthetic_examples[:3], path)
    with path.open("a") as f:
        f.write('{"id": "broken"}\n')
    with pytest.raises(DataError, match=r"d.jsonl:4: not a canonical example: record: 'source' is a required property"):
        load_examples(path)
    with pytest.raises(DataError, match="no such file"):
        load_examples(tmp_path / "missing.jsonl")


def test_sharegpt_export_reads_back_through_the_hermes_loader(synthetic_examples):
    for example in synthetic_examples[:40]:
        row = to_sharegpt(example)
        assert row["conversations"][0]["from"] == "system" and "<tools>" in row["conversations"][0]["value"]
        back = convert_hermes_record(row, "mem#0")
        assert back["messages"] == example["messages"] and back["tools"] == example["tools"]
        assert back["ground_truth"] == example["ground_truth"] and back["category"] == example["category"]


def test_rendered_text_is_qwen3_hermes_format(tiny_tokenizer, synthetic_examples):
    example = next(e for e in synthetic_examples if e["category"] == "parallel")
    text = render_text(example, tiny_tokenizer)
    prompt = render_prompt(example, tiny_tokenizer)
    assert text.startswith(prompt)
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")  # enable_thinking=False
    tools_block = text.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0].split("\n")
    assert [json.loads(line) for line in tools_block] == example["tools"]  # one JSON object per line
    completion = text[len(prompt):]
    expected = "\n".join(
        "<tool_call>\n" + json.dumps({"name": c["function"]["name"], "arguments": c["function"]["arguments"]},
                                     ensure_ascii=False) + "\n</tool_call>"
        for c in example["messages"][-1]["tool_calls"]
    )
    assert completion == expected + "<|im_end|>\n"
