"""The losses of the training step in progress, kept on the device until the metrics read them."""

import torch


class StepLoss:
    """The summed token loss and the token count of the step's micro-batches so far (the step's
    mean loss), and the mean loss of its last micro-batch (the loss nanoGPT's `iter` line prints,
    its master process's). The run's loss function adds each micro-batch; its metrics processor
    takes the step when it is done, never reading the device in between."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.loss_sum: torch.Tensor | None = None
        self.n_tokens = 0
        self.last: torch.Tensor | None = None

    def add(self, loss_sum: torch.Tensor, n_tokens: int) -> None:
        self.loss_sum = loss_sum if self.loss_sum is None else self.loss_sum + loss_sum
        self.n_tokens += n_tokens
        self.last = loss_sum / n_tokens

    def take(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The step's (mean, last micro-batch's) token loss, device tensors; None if no loss was
        computed. Resets."""
        losses = None if self.loss_sum is None else (self.loss_sum / self.n_tokens, self.last)
        self.reset()
        return losses
