from __future__ import annotations

import pytest
import torch

from fcray.cli import main
from fcray.model.card import write_model_card
from fcray.model.export import check_loads_in_vllm, merge_to_folder, verify_model


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory, tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    with torch.no_grad():  # a non-zero adapter, so merging changes the weights
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    out = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(out)
    ids = torch.tensor([[5, 17, 42, 99]])
    return out, model.eval()(ids).logits.detach(), ids


def test_merge_lora_adapter_reproduces_the_adapter_model(adapter_dir, tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, expected_logits, ids = adapter_dir
    out = merge_to_folder(source, tmp_path / "merged", base=str(tiny_model_dir))
    merged = AutoModelForCausalLM.from_pretrained(out)
    assert torch.allclose(merged(ids).logits, expected_logits, atol=1e-4)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert not torch.allclose(base(ids).logits, expected_logits, atol=1e-4)
    assert AutoTokenizer.from_pretrained(out).chat_template == AutoTokenizer.from_pretrained(tiny_model_dir).chat_template
    assert (out / "generation_config.json").exists() and not (out / "adapter_config.json").exists()


def test_full_model_export_card_and_verification(tiny_model_dir, tmp_path, synthetic_examples):
    out = merge_to_folder(tiny_model_dir, tmp_path / "full")
    check = verify_model(out, synthetic_examples[0], max_new_tokens=4)
    assert check["prompt_tokens"] > 50 and check["parse_status"] in ("ok", "no_call", "unterminated_tag",
                                                                      "bad_format", "invalid_json")
    card = write_model_card(out, "sft", str(tiny_model_dir), {"lr": 1e-3}, data_summary={"train": {"examples": 10}},
                            metrics={"loss": 1.0}, verification=check).read_text()
    assert "## Recipe" in card and "## Data" in card and "## Training metrics" in card and "## Export check" in card


def test_bad_source_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a PEFT adapter .* nor a model"):
        merge_to_folder(tmp_path, tmp_path / "out")


def test_export_merge_cli_bad_source(tmp_path, capsys):
    assert main(["export", "merge", "--source", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "fcray export: error:" in capsys.readouterr().err


def test_export_merge_cli(adapter_dir, tiny_model_dir, tmp_path, capsys):
    source, _, _ = adapter_dir
    assert main(["export", "merge", "--source", str(source), "--base", str(tiny_model_dir),
                 "--out", str(tmp_path / "m")]) == 0
    assert f"merged model written to {tmp_path / 'm'}" in capsys.readouterr().out


@pytest.mark.slow
def test_merged_model_loads_in_vllm(adapter_dir, tiny_model_dir, tmp_path):
    source, _, _ = adapter_dir
    out = merge_to_folder(source, tmp_path / "merged", base=str(tiny_model_dir))
    result = check_loads_in_vllm(out)
    assert result["tokens"] == 8
