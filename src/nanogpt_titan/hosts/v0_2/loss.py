"""The TrainSpec's training loss: torchtitan's cross entropy, each step's value kept on the device.

torchtitan hands its metrics processor the loss of a logging step only. nanoGPT logs every
iteration (`log_interval = 1`), and metrics.jsonl keeps one record per step, so the loss
function adds each micro-batch's summed loss to `STEP_LOSS` without reading it back; the
metrics processor collects it when the step ends and reads all collected steps in one
device-to-host copy per `metrics.log_freq` steps (`nanogpt_titan.hosts.metrics`).
"""

import torch
from torchtitan.components.loss import LossFunction, build_cross_entropy_loss
from torchtitan.config import JobConfig

from nanogpt_titan.hosts.metrics import STEP_LOSS


def build_nanogpt_loss_fn(job_config: JobConfig, **kwargs) -> LossFunction:
    """The TrainSpec's loss builder: torchtitan's cross entropy (compiled if asked), metered."""
    cross_entropy = build_cross_entropy_loss(job_config)

    def loss_fn(pred: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss_sum = cross_entropy(pred, labels)
        STEP_LOSS.add(loss_sum.detach(), labels.numel())  # no label is ever ignored in char data
        return loss_sum

    return loss_fn
