"""fcray's GRPO trainer (fcray.grpo.trainer): which micro-batches it skips, and that a rank skipping one stays
in step with a rank that trains on its own under DistributedDataParallel (2 processes, gloo, no Ray)."""

from __future__ import annotations

import pytest
import torch

from fcray.grpo.trainer import is_flat, zero_loss


def _group(rewards: list[float]) -> torch.Tensor:
    """TRL's advantages of one group: (reward - group mean) / (group std + 1e-4), in float32."""
    r = torch.tensor(rewards, dtype=torch.float32)
    return (r - r.mean()) / (r.std() + 1e-4)


@pytest.mark.parametrize("groups, flat", [
    ([[0.766] * 8], True),                                   # equal rewards: rounding noise only
    ([[0.766] * 8, [0.3958] * 8], True),
    ([[0.766] * 8, [0.5] * 7 + [0.75]], False),               # one completion did better: it trains
    ([[0.0] * 4 + [1.0] * 4], False),
    ([[0.25, 0.2500001, 0.25, 0.25]], True),                  # 1e-7 apart is float noise, not a preference
])
def test_only_micro_batches_whose_every_group_earned_one_reward_are_flat(groups, flat):
    assert is_flat(torch.cat([_group(g) for g in groups])) == flat


def _tiny_causal_lm():
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    return Qwen3ForCausalLM(Qwen3Config(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=1, head_dim=8))


def _rank(rank: int, port: int, out: dict) -> None:
    """Two micro-batches per step (the first under no_sync, as the Trainer accumulates); rank 0 skips its
    last one with zero_loss, rank 1 trains on it."""
    import datetime

    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2,
                            timeout=datetime.timedelta(seconds=60))  # a rank left waiting fails, not hangs
    model = DistributedDataParallel(_tiny_causal_lm())
    ids = torch.tensor([[1, 2, 3, 4, 5]]) + rank
    with model.no_sync():
        model(input_ids=ids).logits.sum().backward()
    (zero_loss(model, ids) if rank == 0 else model(input_ids=ids).logits.sum()).backward()
    out[rank] = {name: p.grad.clone() for name, p in model.module.named_parameters()}
    dist.destroy_process_group()


def test_a_rank_that_skips_its_micro_batch_reaches_the_all_reduce_with_zero_gradient():
    import torch.multiprocessing as mp

    from fcray.cluster import free_port

    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_rank, args=(free_port(), out), nprocs=2, join=True)
    grads = dict(out)
    # Recomputed alone: DDP averages what each rank accumulated, i.e. rank 0's first micro-batch plus zero, and
    # rank 1's two real ones (the same tokens twice).
    model = _tiny_causal_lm()
    model(input_ids=torch.tensor([[1, 2, 3, 4, 5]])).logits.sum().backward()
    first = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model(input_ids=torch.tensor([[2, 3, 4, 5, 6]])).logits.sum().backward()
    real = {n: p.grad.clone() for n, p in model.named_parameters()}
    for name, grad in grads[0].items():
        torch.testing.assert_close(grad, (first[name] + 2 * real[name]) / 2, msg=name)
        torch.testing.assert_close(grads[1][name], grad, msg=name)


class _Accelerator:
    """Two ranks: ``gather`` returns this rank's flag beside the other rank's."""

    num_processes = 2

    def __init__(self, other_rank_flat: bool) -> None:
        self.other = float(other_rank_flat)

    def gather(self, flag: torch.Tensor) -> torch.Tensor:
        return torch.cat([flag, flag.new_tensor([self.other])])


@pytest.mark.parametrize("this_flat, other_flat, skipped", [
    (True, True, True),      # flat on every rank: both skip
    (True, False, False),    # flat here only: this rank trains too, or it would wait in TRL's gather alone
    (False, True, False),
    (False, False, False),
])
def test_a_micro_batch_is_skipped_only_where_every_rank_finds_it_flat(monkeypatch, this_flat, other_flat, skipped):
    from collections import defaultdict

    from trl import GRPOTrainer

    from fcray.grpo.trainer import grpo_trainer_class

    monkeypatch.setattr(GRPOTrainer, "compute_loss", lambda self, *args, **kwargs: "trained")
    trainer_class = grpo_trainer_class()
    trainer = trainer_class.__new__(trainer_class)  # only the attributes compute_loss reads
    model = _tiny_causal_lm()
    trainer.model, trainer.skip_flat_groups = model, True
    trainer.accelerator = _Accelerator(other_flat)
    trainer._metrics = {"train": defaultdict(list)}
    advantages = _group([0.766] * 8) if this_flat else _group([0.5] * 7 + [0.75])
    inputs = {"advantages": advantages, "prompt_ids": torch.tensor([[1, 2, 3]])}
    loss = trainer.compute_loss(model, inputs)
    assert (loss != "trained") == skipped
    if skipped:
        assert loss.item() == 0.0 and loss.requires_grad
    assert trainer._metrics["train"]["frac_micro_batches_skipped"] == [float(skipped)]
