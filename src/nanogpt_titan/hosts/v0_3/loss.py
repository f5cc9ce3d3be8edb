"""The training loss on torchtitan 0.3: its cross entropy, each micro-batch's summed loss also
added to `STEP_LOSS` on the device, for metrics.jsonl's every step
(`nanogpt_titan.hosts.metrics`)."""

from dataclasses import dataclass

import torch
from torchtitan.components.loss import CrossEntropyLoss

from nanogpt_titan.hosts.metrics import STEP_LOSS


class NanoGPTLoss(CrossEntropyLoss):
    @dataclass(kw_only=True, slots=True)
    class Config(CrossEntropyLoss.Config):
        pass

    def __call__(self, pred: torch.Tensor, labels: torch.Tensor, global_valid_tokens: torch.Tensor | None = None,
                 **kwargs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss_sum = self.fn(pred, labels, global_vocab_size=self.global_vocab_size)
        STEP_LOSS.add(loss_sum.detach(), labels.numel())  # no label is ever ignored in nanoGPT's data
        return (loss_sum if global_valid_tokens is None else loss_sum / global_valid_tokens), {}
