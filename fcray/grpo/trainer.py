"""fcray's GRPO trainer: TRL's ``GRPOTrainer``, with micro-batches that carry no learning signal left out of
the update (``grpo.skip_flat_groups``).

A group whose completions all earn the same reward has no advantage to learn from. TRL still runs its
forward and backward pass: with ``beta`` 0 its loss is the advantage times the probability ratio, so all
that pass computes is a gradient of (near) zero. Near, not exactly: TRL's group mean of equal rewards is off
by float rounding (~6e-8), which its scaling by ``std + 1e-4`` turns into advantages of ~6e-4 — noise, where
a group whose rewards differ has advantages of magnitude ~1. On the tiny preset 40-75% of the groups are
flat, and the update is ~80% of a GRPO step. With several workers a micro-batch is skipped only where it is
flat on every worker (they agree through one gather), since TRL's loss runs collectives of its own.
Measured on the tiny preset from one B (docs/results/2026-12-07-grpo-skip-flat.md): after 100 steps the weights
are bit-identical with and without the skip (the rounding noise did not reach them), in 27% less time per step.
"""

from __future__ import annotations

from typing import Any

FLAT = 0.01  # |advantage| below this is no signal: rounding noise scaled by std + 1e-4 is ~6e-4, a real group's >= ~0.9


def is_flat(advantages: Any) -> bool:
    """Whether every completion of a micro-batch has (near) zero advantage.

    >>> import torch
    >>> is_flat(torch.tensor([6e-4, -6e-4, 0.0, 6e-4]))            # equal rewards, after TRL's rounding and scaling
    True
    >>> is_flat(torch.tensor([6e-4, -6e-4, 1.06, -1.06, 0.0, 0.0]))  # one group that differs: it must train
    False
    """
    return bool(advantages.abs().max() < FLAT)


def zero_loss(model: Any, input_ids: Any) -> Any:
    """A loss whose gradient is zero for every trainable parameter, from a one-token forward pass through
    ``model`` as wrapped for training. The pass keeps DistributedDataParallel in step: a rank that skips its
    micro-batch still reaches the gradient all-reduce the other ranks wait in."""
    last = input_ids[:1, -1:]
    return model(input_ids=last, attention_mask=last.new_ones(last.shape)).logits.sum() * 0.0


def grpo_trainer_class():
    """TRL's ``GRPOTrainer`` with ``skip_flat_groups`` (built here so that importing this module does not
    import TRL)."""
    from trl import GRPOTrainer

    class FcrayGRPOTrainer(GRPOTrainer):
        def __init__(self, *args: Any, skip_flat_groups: bool = False, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Only where a flat micro-batch's gradient is (near) zero: a KL term (beta > 0), an entropy bonus
            # or a router's auxiliary loss have gradients of their own.
            self.skip_flat_groups = (skip_flat_groups and self.beta == 0.0 and not self._entropy_bonus_enabled
                                     and not self.aux_loss_enabled)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.skip_flat_groups and self.model.training:
                flat = is_flat(inputs["advantages"])
                if self.accelerator.num_processes > 1:
                    # Every rank must take the same path: TRL's loss gathers its metrics across ranks, so a rank
                    # that skipped while another computed would wait in a different collective (a deadlock).
                    flags = self.accelerator.gather(inputs["advantages"].new_tensor([float(flat)]))
                    flat = bool(flags.min() > 0)
                self._metrics["train"]["frac_micro_batches_skipped"].append(float(flat))
                if flat:
                    return zero_loss(model, inputs["prompt_ids"])
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    return FcrayGRPOTrainer
