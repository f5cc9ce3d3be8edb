"""The training loss: torchtitan's cross entropy, each micro-batch's added to the run's StepLoss."""

import torch
from torchtitan.components.loss import cross_entropy_loss

from nanogpt_titan.hosts.v0_2.loss import build_nanogpt_loss_fn
from nanogpt_titan.hosts.v0_2.settings import nanogpt_run


def test_the_loss_is_torchtitans_and_the_step_mean_covers_every_micro_batch(parse_config):
    job_config = parse_config("debug_model.toml")
    loss_fn, step_loss = build_nanogpt_loss_fn(job_config), nanogpt_run(job_config).step_loss
    micro_batches = [(torch.randn(2, 5, 7), torch.randint(0, 7, (2, 5))) for _ in range(3)]
    sums = [loss_fn(pred, labels) for pred, labels in micro_batches]
    for loss_sum, (pred, labels) in zip(sums, micro_batches):
        assert torch.equal(loss_sum, cross_entropy_loss(pred, labels))
    step_mean, last = step_loss.take()
    assert torch.allclose(step_mean, torch.stack(sums).sum() / 30)
    assert torch.equal(last, sums[-1] / 10)  # nanoGPT's iter line: the last micro-batch's mean
    assert step_loss.take() is None  # taken once: the next step starts empty
