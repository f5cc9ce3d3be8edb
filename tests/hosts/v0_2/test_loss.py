"""The training loss: torchtitan's cross entropy, each step's mean kept on the device."""

import torch
from torchtitan.components.loss import cross_entropy_loss

from nanogpt_titan.hosts.metrics import STEP_LOSS
from nanogpt_titan.hosts.v0_2.loss import build_nanogpt_loss_fn


def test_the_loss_is_torchtitans_and_the_step_mean_covers_every_micro_batch(parse_config):
    loss_fn = build_nanogpt_loss_fn(parse_config("debug_model.toml"))
    STEP_LOSS.reset()
    micro_batches = [(torch.randn(2, 5, 7), torch.randint(0, 7, (2, 5))) for _ in range(3)]
    sums = [loss_fn(pred, labels) for pred, labels in micro_batches]
    for loss_sum, (pred, labels) in zip(sums, micro_batches):
        assert torch.equal(loss_sum, cross_entropy_loss(pred, labels))
    step_mean = STEP_LOSS.take()
    assert torch.allclose(step_mean, torch.stack(sums).sum() / 30)
    assert STEP_LOSS.take() is None  # taken once: the next step starts empty
