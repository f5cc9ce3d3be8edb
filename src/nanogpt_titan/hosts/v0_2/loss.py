"""The training loss: torchtitan's cross entropy, each step's value kept on the device.

torchtitan hands its metrics processor the loss of a logging step only. nanoGPT logs every
iteration (`log_interval = 1`), and metrics.jsonl keeps one record per step, so the loss
function adds each micro-batch's summed loss to `STEP_LOSS` without reading it back; the
metrics processor collects it when the step ends and reads all collected steps in one
device-to-host copy per `metrics.log_freq` steps.
"""

import torch
from torchtitan.components.loss import LossFunction, build_cross_entropy_loss
from torchtitan.config import JobConfig


class StepLoss:
    """The summed token loss and the token count of the step in progress, on the device."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.loss_sum: torch.Tensor | None = None
        self.n_tokens = 0

    def add(self, loss_sum: torch.Tensor, n_tokens: int) -> None:
        self.loss_sum = loss_sum if self.loss_sum is None else self.loss_sum + loss_sum
        self.n_tokens += n_tokens

    def take(self) -> torch.Tensor | None:
        """The mean token loss of the step (a device tensor, or None if none was computed); resets."""
        mean = None if self.loss_sum is None else self.loss_sum / self.n_tokens
        self.reset()
        return mean


STEP_LOSS = StepLoss()
"""The running process's training loss: one Trainer runs at a time, as torchtitan's entry point does."""


def build_nanogpt_loss_fn(job_config: JobConfig, **kwargs) -> LossFunction:
    """The TrainSpec's loss builder: torchtitan's cross entropy (compiled if asked), metered."""
    cross_entropy = build_cross_entropy_loss(job_config)

    def loss_fn(pred: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss_sum = cross_entropy(pred, labels)
        STEP_LOSS.add(loss_sum.detach(), labels.numel())  # no label is ever ignored in char data
        return loss_sum

    return loss_fn
