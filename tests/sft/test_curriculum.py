"""The schema-free warm-up's order (fcray.sft.curriculum) and what TRL's trainer is given for it."""

from __future__ import annotations

import json

import pytest

from fcray.config import ConfigError, load_config
from fcray.data.augment import augment_split
from fcray.sft.curriculum import answers_with_call, rendered_length, training_order


@pytest.fixture(scope="module")
def rows(synthetic_examples):
    """Calls plus the rows whose answer is not a call (no tool fits, a missing argument)."""
    config = load_config("tiny").data.augment
    added, _ = augment_split(list(synthetic_examples), config, "train")
    return list(synthetic_examples) + added


@pytest.mark.parametrize("schema_free_epochs, epochs", [(0.0, 1.0), (0.5, 1.0), (1.0, 0.25), (2.0, 2.0)])
def test_the_warm_up_is_the_call_rows_without_schemas_then_every_row_with_them(rows, schema_free_epochs, epochs):
    calls = [r for r in rows if answers_with_call(r)]
    assert 0 < len(calls) < len(rows)  # the fixture has both kinds
    ordered, warmup = training_order(rows, schema_free_epochs, epochs, seed=3, global_batch=8)
    assert warmup == round(len(calls) * schema_free_epochs + 0.49999)  # ceil
    assert len(ordered) == warmup + round(len(rows) * epochs + 0.49999)
    assert all(r["tools"] == [] and answers_with_call(r) for r in ordered[:warmup])
    assert all(r["tools"] for r in ordered[warmup:])
    # every row appears once per whole pass: nothing dropped, nothing invented
    ids = [r["id"] for r in ordered[warmup:]]
    if epochs >= 1:
        assert set(ids) == {r["id"] for r in rows}
    assert {r["id"] for r in ordered[:warmup]} <= {r["id"] for r in calls}
    # the examples given are not modified (the warm-up copies them)
    assert all(r["tools"] for r in rows if r["category"] != "chat")


def test_a_warm_up_with_tool_names_has_every_row_and_only_their_names(rows):
    ordered, warmup = training_order(rows, 1.0, 1.0, seed=3, global_batch=8, tools="names")
    assert warmup == len(rows)  # the rows without a call too: which tools are offered is visible
    assert {r["category"] for r in ordered[:warmup]} == {r["category"] for r in rows}
    for row in ordered[:warmup]:
        original = next(r for r in rows if r["id"] == row["id"])
        assert row["tools"] == [{"type": "function", "function": {"name": t["function"]["name"]}}
                                for t in original["tools"]]
    assert all(r["tools"] and "parameters" in r["tools"][0]["function"] for r in ordered[warmup:] if r["tools"])


def test_the_order_is_seeded_and_sorted_by_length_within_windows(rows):
    first, warmup = training_order(rows, 1.0, 1.0, seed=5, global_batch=4)
    again, _ = training_order(rows, 1.0, 1.0, seed=5, global_batch=4)
    other, _ = training_order(rows, 1.0, 1.0, seed=6, global_batch=4)
    assert [r["id"] for r in first] == [r["id"] for r in again]
    assert [r["id"] for r in first] != [r["id"] for r in other]
    window = 4 * 16  # 16 global batches; each phase has windows of its own
    for phase in (first[:warmup], first[warmup:]):
        for start in range(0, len(phase), window):
            lengths = [rendered_length(r) for r in phase[start:start + window]]
            assert lengths == sorted(lengths)


def test_trl_gets_the_rows_in_that_order_for_one_sequential_pass(tmp_path, tiny_model_dir, rows, capsys):
    from fcray.sft.train import SFTJob, build_trainer

    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows[:80]))
    config = load_config("tiny", overrides=["sft.schema_free_epochs=1", "sft.num_train_epochs=1",
                                            "sft.per_device_train_batch_size=2"])
    trainer = build_trainer(SFTJob(sft=config.sft, model_path=str(tiny_model_dir), train_path=str(train),
                                   run_dir=str(tmp_path)), world_size=1)
    assert trainer.args.train_sampling_strategy == "sequential"
    assert trainer.args.num_train_epochs == 1.0
    expected, warmup = training_order(rows[:80], 1.0, 1.0, config.sft.seed, global_batch=2)
    assert len(trainer.train_dataset) == len(expected)
    prompts = [trainer.processing_class.decode(trainer.train_dataset[i]["input_ids"]) for i in (0, warmup)]
    assert "<tools>" not in prompts[0]
    assert "<tools>" in prompts[1]
    rows_with = len(expected) - warmup
    assert f"schema-free warm-up: {warmup} rows without tool schemas, then {rows_with} rows with their schemas" in \
        capsys.readouterr().out


def test_warmup_stable_decay_holds_the_rate_through_the_warm_up_and_decays_over_the_rest(tmp_path, tiny_model_dir,
                                                                                          rows):
    from fcray.sft.train import SFTJob, build_trainer

    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows[:80]))
    config = load_config("tiny", overrides=["sft.schema_free_epochs=1", "sft.num_train_epochs=1",
                                            "sft.per_device_train_batch_size=2", "sft.warmup_ratio=0",
                                            "sft.lr_scheduler_type=warmup_stable_decay",
                                            "sft.lr_scheduler_kwargs={min_lr_ratio: 0.1}"])
    trainer = build_trainer(SFTJob(sft=config.sft, model_path=str(tiny_model_dir), train_path=str(train),
                                   run_dir=str(tmp_path)), world_size=1)
    expected, warmup = training_order(rows[:80], 1.0, 1.0, config.sft.seed, global_batch=2)
    steps, held = -(-len(expected) // 2), warmup // 2
    assert trainer.args.lr_scheduler_kwargs == {"min_lr_ratio": 0.1, "num_decay_steps": steps - held}
    trainer.create_optimizer_and_scheduler(num_training_steps=steps)
    rates = []
    for _ in range(steps):
        rates.append(trainer.lr_scheduler.get_last_lr()[0])
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    peak = config.sft.learning_rate
    assert rates[:held] == pytest.approx([peak] * held)  # every warm-up step at the peak rate
    assert rates[held + 1] < peak and rates[-1] == pytest.approx(0.1 * peak, rel=0.05)


def test_warmup_stable_decay_without_the_warm_up_needs_its_decay_length():
    with pytest.raises(ConfigError, match="sft.lr_scheduler_kwargs: warmup_stable_decay needs num_decay_steps"):
        load_config("tiny", overrides=["sft.schema_free_epochs=0", "sft.lr_scheduler_type=warmup_stable_decay"])
    config = load_config("tiny", overrides=["sft.schema_free_epochs=0", "sft.lr_scheduler_type=warmup_stable_decay",
                                            "sft.lr_scheduler_kwargs={num_decay_steps: 10}"])
    assert config.sft.lr_scheduler_kwargs == {"num_decay_steps": 10}


def test_packing_cannot_reorder_the_warm_up():
    with pytest.raises(ConfigError, match="sft.schema_free_epochs"):
        load_config("tiny", overrides=["sft.schema_free_epochs=1", "sft.packing=true"])
    with pytest.raises(ConfigError, match="sft.schema_free_epochs"):
        load_config("tiny", overrides=["sft.schema_free_epochs=-1"])
    with pytest.raises(ConfigError, match="sft.schema_free_tools"):
        load_config("tiny", overrides=["sft.schema_free_tools=schemas"])


def test_renamed_rows_get_their_own_names_back_in_the_warm_up(rows):
    from fcray.data.augment import rename_split

    real_names = {t["function"]["name"] for r in rows for t in r["tools"]}
    renamed_rows = [dict(r) for r in rows]
    rename_split(renamed_rows, 1.0, seed=0, split="train")
    ordered, warmup = training_order(renamed_rows, 1.0, 1.0, seed=0, global_batch=8)
    called = {c["function"]["name"] for r in ordered[:warmup] for m in r["messages"] for c in m.get("tool_calls") or []}
    assert called and called <= real_names  # without schemas, nothing says which other name to use
    assert all(t["function"]["name"] not in real_names for r in ordered[warmup:] for t in r["tools"])
