"""Validation the nanoGPT way: `estimate_loss` on the validation split."""

from contextlib import AbstractContextManager

import torch
import torch.nn as nn
from torchtitan.components.loss import LossFunction
from torchtitan.components.metrics import MetricsProcessor
from torchtitan.components.validate import BaseValidator, ValidationContext
from torchtitan.config import JobConfig

from nanogpt_titan.datasets import DEFAULT_SEED, load_split_tokens
from nanogpt_titan.evaluate import random_batches


class NanoGPTValidator(BaseValidator):
    """Mean loss of `validation.steps` random batches, in eval mode (no dropout).

    Like nanoGPT's `estimate_loss`, each validation reports the validation split's loss and
    an estimate of the training split's (`train_loss_estimate`), so the eval tables of the
    two programs line up column for column. The batches come from a generator seeded afresh
    on every call: two evaluations of the same weights see the same batches.
    """

    def __init__(
        self,
        job_config: JobConfig,
        val_tokens: torch.Tensor,
        train_tokens: torch.Tensor,
        loss_fn: LossFunction,
        validation_context: ValidationContext,
        maybe_enable_amp: AbstractContextManager[None],
        metrics_processor: MetricsProcessor,
    ):
        super().__init__(job_config)
        self.val_tokens = val_tokens
        self.train_tokens = train_tokens
        self.loss_fn = loss_fn
        self.validation_context = validation_context
        self.maybe_enable_amp = maybe_enable_amp
        self.metrics_processor = metrics_processor

    def batches(self, tokens: torch.Tensor):
        validation = self.job_config.validation
        return random_batches(
            tokens, validation.seq_len, validation.local_batch_size, validation.steps, DEFAULT_SEED
        )

    @torch.no_grad()
    def evaluate(self, model: nn.Module, tokens: torch.Tensor) -> float:
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        batch_losses = []
        for inputs, labels in self.batches(tokens):
            labels = labels.to(device)
            with self.validation_context(), self.maybe_enable_amp:
                loss_sum = self.loss_fn(model(inputs.to(device)), labels)
            batch_losses.append(loss_sum / labels.numel())
        model.train(was_training)
        return torch.stack(batch_losses).mean().item()

    def validate(self, model_parts: list[nn.Module], step: int) -> None:
        (model,) = model_parts
        train_loss_estimate = self.evaluate(model, self.train_tokens)
        self.metrics_processor.log_validation(
            loss=self.evaluate(model, self.val_tokens),
            step=step,
            extra_metrics={"train_loss_estimate": train_loss_estimate},
        )


def build_nanogpt_validator(
    job_config: JobConfig,
    dp_world_size: int,
    dp_rank: int,
    tokenizer,
    parallel_dims,
    loss_fn: LossFunction,
    validation_context: ValidationContext,
    maybe_enable_amp: AbstractContextManager[None],
    metrics_processor: MetricsProcessor | None = None,
    **kwargs,
) -> NanoGPTValidator:
    """The TrainSpec's validator builder (torchtitan's own would build a c4 dataloader)."""
    validation = job_config.validation
    if validation.steps < 1:
        raise ValueError(
            f"validation.steps={validation.steps}: nanoGPT validates on a fixed number of random "
            "batches (eval_iters); set validation.steps to a positive count, e.g. 200"
        )
    if validation.dataset_path not in (None, job_config.training.dataset_path):
        raise ValueError(
            f"validation.dataset_path={validation.dataset_path!r}: the validation split is the "
            "last 10% of the training text, so set training.dataset_path only"
        )
    return NanoGPTValidator(
        job_config,
        load_split_tokens(job_config, tokenizer, validation.dataset),
        load_split_tokens(job_config, tokenizer, job_config.training.dataset),
        loss_fn,
        validation_context,
        maybe_enable_amp,
        metrics_processor,
    )
