"""The training loss on torchtitan's Configurable API: its cross entropy, each micro-batch's also
added to the run's `StepLoss` on the device, for metrics.jsonl's every step
(`nanogpt_titan.hosts.metrics`)."""

from dataclasses import dataclass
from typing import Annotated

import torch
import tyro
from torchtitan.components.loss import CrossEntropyLoss

from nanogpt_titan.run import NanoGPTRun


class NanoGPTLoss(CrossEntropyLoss):
    """`FOLDED`: the release's cross entropy takes the batch folded into its tokens (main's),
    else (batch, seq_len) as the model gives it (0.3's)."""

    FOLDED = False

    @dataclass(kw_only=True, slots=True)
    class Config(CrossEntropyLoss.Config):
        run: Annotated[NanoGPTRun | None, tyro.conf.Suppress] = None  # handed over by the trainer

    def __init__(self, config: Config, **kwargs):
        super().__init__(config, **kwargs)
        self.step_loss = config.run.step_loss

    def __call__(
        self, pred: torch.Tensor, labels: torch.Tensor, global_valid_tokens: torch.Tensor | None = None, **kwargs
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.FOLDED:
            pred, labels = pred.flatten(0, 1), labels.flatten()
        loss_sum = self.fn(pred, labels, global_vocab_size=self.global_vocab_size)
        self.step_loss.add(loss_sum.detach(), labels.numel())  # no label is ever ignored in nanoGPT's data
        return (loss_sum if global_valid_tokens is None else loss_sum / global_valid_tokens), {}
