"""The TrainSpec's training loss: torchtitan's cross entropy, each micro-batch's also added to the
run's `StepLoss` on the device, for metrics.jsonl's every step (`nanogpt_titan.hosts.metrics`)."""

import torch
from torchtitan.components.loss import LossFunction, build_cross_entropy_loss
from torchtitan.config import JobConfig

from nanogpt_titan.hosts.v0_2.settings import nanogpt_run


def build_nanogpt_loss_fn(job_config: JobConfig, **kwargs) -> LossFunction:
    """The TrainSpec's loss builder: torchtitan's cross entropy (compiled if asked), metered."""
    cross_entropy = build_cross_entropy_loss(job_config)
    step_loss = nanogpt_run(job_config).step_loss

    def loss_fn(pred: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss_sum = cross_entropy(pred, labels)
        step_loss.add(loss_sum.detach(), labels.numel())  # no label is ever ignored in nanoGPT's data
        return loss_sum

    return loss_fn
