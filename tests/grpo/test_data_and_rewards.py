"""GRPO prompt rows and reward wiring: the rows carry what fcray's reward functions read, the weights reach
TRL, and each TRL reward function scores a completion as fcray.toolcall does."""

from __future__ import annotations

import dataclasses
import json

import pytest

from fcray.toolcall.parse import format_calls


def _reference_text(example):
    calls = [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
             for c in example["messages"][-1].get("tool_calls") or []]
    return format_calls(calls) if calls else example["messages"][-1]["content"]


def test_prompt_rows_render_the_template_with_tools_and_skip_long_prompts(tiny_tokenizer, synthetic_examples):
    from fcray.data.export import render_prompt
    from fcray.grpo.data import prompt_rows

    examples = synthetic_examples[:20]
    lengths = [len(tiny_tokenizer(render_prompt(e, tiny_tokenizer), add_special_tokens=False)["input_ids"])
               for e in examples]
    limit = sorted(lengths)[10]
    rows = prompt_rows(examples, tiny_tokenizer, limit)
    assert len(rows.rows) + len(rows.skipped_too_long) == 20
    assert sorted(rows.skipped_too_long) == sorted(e["id"] for e, n in zip(examples, lengths) if n > limit)
    row = rows.rows[0]
    example = next(e for e in examples if e["id"] == row["id"])
    assert row["prompt"] == render_prompt(example, tiny_tokenizer)
    assert row["prompt"].endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert json.loads(row["tools"]) == example["tools"] and json.loads(row["ground_truth"]) == example["ground_truth"]
    with pytest.raises(ValueError, match="grpo.max_prompt_length=5"):
        prompt_rows(examples, tiny_tokenizer, 5)


def test_rewards_reach_trl_with_their_weights_and_score_like_fcray(tiny_tokenizer, synthetic_examples):
    from fcray.grpo.data import prompt_rows
    from fcray.grpo.metrics import PhaseTimer
    from fcray.grpo.train import reward_setup
    from fcray.toolcall import judge

    timer = PhaseTimer()
    funcs, weights = reward_setup({"schema": 0.5, "match": 1.5}, timer)
    names = [f.__name__ for f in funcs]
    assert names == ["fcray_parse", "fcray_schema", "fcray_match"]  # parse is always logged (weight 0)
    assert weights == [0.0, 0.5, 1.5]
    examples = [e for e in synthetic_examples if e["ground_truth"]["kind"] == "call"][:4]
    rows = prompt_rows(examples, tiny_tokenizer, 10_000).rows
    completions = [_reference_text(examples[0]), "no call here", "<tool_call>\n{bad json\n</tool_call>",
                   _reference_text(examples[1]).replace(examples[1]["messages"][-1]["tool_calls"][0]["function"]["name"],
                                                        "not_a_tool")]
    columns = {key: [r[key] for r in rows] for key in rows[0] if key != "prompt"}
    prompts = [r["prompt"] for r in rows]
    scores = {f.__name__: f(prompts=prompts, completions=completions, **columns) for f in funcs}
    for i, (completion, example) in enumerate(zip(completions, examples)):
        verdict = judge(completion, example).to_dict()
        for name in ("parse", "schema", "match"):
            assert scores[f"fcray_{name}"][i] == verdict[name], (i, name)
    assert scores["fcray_match"][0] == 1.0 and scores["fcray_parse"][1:3] == [0.0, 0.0]
    assert scores["fcray_schema"][3] == 0.0  # an unknown function
    seconds, _ = timer.take()
    assert seconds["reward"] > 0  # scoring time is measured for the per-step time split


def test_sample_seeds_differ_per_step_rank_and_position():
    from fcray.grpo.train import _sample_seed

    seeds = {_sample_seed(42, step, rank, i) for step in range(3) for rank in range(2) for i in range(16)}
    assert len(seeds) == 3 * 2 * 16 and all(0 <= s < 2**31 - 1 for s in seeds)
    assert _sample_seed(42, 1, 0, 0) == _sample_seed(42, 1, 0, 0)


# 4 curves; 3 and 6 fill their rows, and the time split needs a row of its own (6: no KL with beta 0, no
# entropy when every micro-batch skipped its pass)
@pytest.mark.parametrize("curves", [
    {"reward": 0.1, "rewards/fcray_parse/mean": 0.5, "kl": 0.01, "rollout/tokens_per_s": 500.0},
    {"reward": 0.1, "rewards/fcray_parse/mean": 0.5, "kl": 0.01},
    {"reward": 0.1, "rewards/fcray_parse/mean": 0.5, "rewards/fcray_match/mean": 0.2, "completions/mean_length": 9.0,
     "frac_reward_zero_std": 0.5, "rollout/tokens_per_s": 500.0},
])
def test_curves_and_phase_shares(tmp_path, curves):
    from fcray.grpo.metrics import phase_shares, write_curves

    records = [{"kind": "step", "step": s, **{k: v * s for k, v in curves.items()},
                "time/step_s": 10.0, "time/rollout_s": 2.0, "time/reward_s": 0.5, "time/sync_s": 0.5,
                "time/update_s": 7.0} for s in range(1, 5)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert write_curves(tmp_path).read_bytes()[:4] == b"\x89PNG"
    assert phase_shares(records) == pytest.approx({"rollout": 0.2, "reward": 0.05, "sync": 0.05, "update": 0.7})
    assert write_curves(tmp_path / "missing") is None


def test_trl_arguments_carry_fcrays_grpo_settings():
    from fcray.config import GRPOConfig
    from fcray.grpo.train import trl_grpo_args

    grpo = GRPOConfig(learning_rate=5e-5, lr_scheduler_type="constant", warmup_steps=0.1, beta=0.0, temperature=0.5,
                      top_p=1.0, top_k=-1, num_generations=8, per_device_train_batch_size=16,
                      gradient_accumulation_steps=2, loss_type="grpo", epsilon=0.3, max_steps=7, seed=3)
    args = trl_grpo_args(grpo, [0.5, 0.5], "float32", world_size=1)  # 2 would start torch.distributed
    expected = {"learning_rate": 5e-5, "lr_scheduler_type": "constant", "warmup_steps": 0.1, "beta": 0.0,
                "temperature": 0.5, "top_p": 1.0, "num_generations": 8, "per_device_train_batch_size": 16,
                "gradient_accumulation_steps": 2, "loss_type": "grpo", "epsilon": 0.3, "max_steps": 7, "seed": 3,
                "reward_weights": [0.5, 0.5], "use_cpu": True}
    assert {k: getattr(args, k) for k in expected} == expected
    # One generation per optimizer step: the engines always hold the weights the update differentiates.
    assert args.steps_per_generation == grpo.gradient_accumulation_steps
    # Or one per micro-batch (less padding); still within the step, so still the step's weights.
    per_micro_batch = trl_grpo_args(dataclasses.replace(grpo, steps_per_generation=1), [0.5, 0.5], "float32", 1)
    assert (per_micro_batch.steps_per_generation, per_micro_batch.generation_batch_size) == (1, 16)


def test_rollout_calls_within_a_step_sync_once_and_draw_fresh_seeds():
    """With steps_per_generation < gradient_accumulation_steps TRL calls the rollout function several times per
    optimizer step: the weights go to the engines once per step and no two completions share a seed."""
    from types import SimpleNamespace

    from fcray.config import GRPOConfig
    from fcray.grpo.metrics import PhaseTimer
    from fcray.engine.vllm_pool import Completion, RolloutStats
    from fcray.grpo.train import PoolRollout

    class RecordingPool:  # fcray's own pool interface; what the engines do is tested in test_rollout.py
        def __init__(self):
            self.seeds, self.syncs = [], []

        def sync(self, weights, version):
            self.syncs.append(version)

        def generate(self, prompt_ids, sampling, seeds, version, current_weights, offset, grammars=None):
            self.seeds += seeds
            self.grammars = grammars
            done = [Completion(prompt_ids=p, completion_ids=[5], text="x", logprobs=[-0.1], finish_reason="stop")
                    for p in prompt_ids]
            return done, RolloutStats(0.01, len(done), [0.01], 0)

    class Tokenizer:
        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [len(text)]}

    pool = RecordingPool()
    rollout = PoolRollout(pool, Tokenizer(), GRPOConfig(), PhaseTimer())
    rollout.current_weights = lambda trainer: {}
    trainer = SimpleNamespace(state=SimpleNamespace(global_step=3), accelerator=SimpleNamespace(process_index=0))
    for _ in range(3):
        rollout(["a", "bb"], trainer)
    trainer.state.global_step = 4
    rollout(["a", "bb"], trainer)
    assert pool.syncs == [3, 4]
    assert len(set(pool.seeds[:6])) == 6
    assert pool.seeds[6:] != pool.seeds[:2]  # a new step draws new seeds



def test_constrained_rollouts_send_each_prompts_own_grammar(tiny_tokenizer, synthetic_examples):
    """decoding.constrained: every training prompt maps to the grammar of its own tools; the rollout sends
    them along with the prompts (the engines apply them: tests/engine/test_vllm_pool.py)."""
    from types import SimpleNamespace

    from fcray.config import DecodingConfig, GRPOConfig
    from fcray.grpo.data import prompt_rows
    from fcray.grpo.train import GRPOJob, rollout_grammars
    from fcray.toolcall.grammar import grammar_for

    examples = synthetic_examples[:20]
    prompts = prompt_rows(examples, tiny_tokenizer, 4096)
    job = GRPOJob(grpo=GRPOConfig(), model_path="m", train_path="t", run_dir="r", pool=None)
    assert rollout_grammars(prompts, job) == {}  # off by default
    job.decoding = DecodingConfig(constrained=True)
    grammars = rollout_grammars(prompts, job)
    for row, example in zip(prompts.rows, examples):
        assert grammars[row["prompt"]] == grammar_for(example["tools"], job.decoding)
    assert any(g is None for g in grammars.values()) == any(not e["tools"] for e in examples)

    from fcray.engine.vllm_pool import Completion, RolloutStats
    from fcray.grpo.metrics import PhaseTimer
    from fcray.grpo.train import PoolRollout

    class RecordingPool:  # fcray's own pool interface, as in the test above
        def generate(self, prompt_ids, sampling, seeds, version, current_weights, offset, grammars=None):
            self.grammars = grammars
            done = [Completion(prompt_ids=p, completion_ids=[5], text="x", logprobs=[-0.1], finish_reason="stop")
                    for p in prompt_ids]
            return done, RolloutStats(0.01, len(done), [0.01], 0)

    pool = RecordingPool()
    rollout = PoolRollout(pool, tiny_tokenizer, GRPOConfig(), PhaseTimer(), grammars)
    trainer = SimpleNamespace(state=SimpleNamespace(global_step=0), accelerator=SimpleNamespace(process_index=0))
    texts = [row["prompt"] for row in prompts.rows[:3]]
    rollout(texts, trainer)
    assert pool.grammars == [grammars[t] for t in texts]  # each prompt with its own grammar, in order
