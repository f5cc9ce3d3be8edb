"""Validation the nanoGPT way: `estimate_loss` on both splits, and the exact loss at the end."""

from contextlib import AbstractContextManager

import torch
import torch.nn as nn
from torchtitan.components.metrics import MetricsProcessor
from torchtitan.components.validate import BaseValidator
from torchtitan.config import JobConfig
from torchtitan.tools.logging import logger

from nanogpt_titan.data.folder import TokenFile
from nanogpt_titan.data.nanogpt_batches import NanoGPTBatches
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.evaluate import mean_loss, random_batches, window_batches
from nanogpt_titan.hosts.v0_2 import dataloader
from nanogpt_titan.hosts.v0_2.dataloader import draws_as_nanogpt, run_seed, split_tokens
from nanogpt_titan.progress import progress


class NanoGPTValidator(BaseValidator):
    """Mean loss of `validation.steps` random batches, in eval mode (no dropout).

    Like nanoGPT's `estimate_loss`, each validation reports the validation split's loss and
    an estimate of the training split's (`train_loss_estimate`), so the eval tables of the
    two programs line up column for column, and logs nanoGPT's own line for it. The batches
    come from a generator seeded afresh from `debug.seed` on every call: two evaluations of
    the same weights see the same batches. With `nanogpt_batches` (`debug.randomness =
    "nanogpt"`) they are nanoGPT's instead, drawn in its order, and as in nanoGPT only every
    `eval_interval`-th step is evaluated, on the first rank.

    The last validation of the run also reports `val_loss_exact`, the loss over every
    non-overlapping window of the validation split: the run's headline number, which no
    choice of random batches moves.
    """

    def __init__(
        self,
        job_config: JobConfig,
        val_tokens: TokenFile,
        train_tokens: TokenFile,
        autocast: AbstractContextManager,
        metrics_processor: MetricsProcessor,
        nanogpt_batches: NanoGPTBatches | None = None,
    ):
        super().__init__(job_config)
        self.val_tokens = val_tokens
        self.train_tokens = train_tokens
        self.autocast = autocast
        self.metrics_processor = metrics_processor
        self.nanogpt_batches = nanogpt_batches
        self.seed = run_seed(job_config)
        steps, freq = job_config.training.steps, job_config.validation.freq
        self.last_validation_step = max(1, steps - steps % freq)
        for tokens in (val_tokens, train_tokens):
            self.batches(tokens)  # a split too short for validation.seq_len is refused now, not mid-run

    def batches(self, tokens: TokenFile):
        validation = self.job_config.validation
        return random_batches(
            tokens, validation.seq_len, validation.local_batch_size, validation.steps, self.seed, "validation.seq_len"
        )

    def estimate_batches(self, step: int) -> dict | None:
        """Each split's batches for the estimate after `step` updates; None: no evaluation."""
        if self.nanogpt_batches is not None:
            return self.nanogpt_batches.evaluation(step)
        return {"train": self.batches(self.train_tokens), "val": self.batches(self.val_tokens)}

    def estimate_loss(self, model: nn.Module, step: int, batches: dict) -> tuple[float, float]:
        """nanoGPT's `estimate_loss` (train, val) on `batches`, logged as nanoGPT prints it."""
        train, val = (mean_loss(model, batches[split], self.autocast) for split in ("train", "val"))
        logger.info(f"step {step}: train loss {train:.4f}, val loss {val:.4f}")
        return train, val

    def report_untrained(self, iteration: int, batches: dict) -> None:
        """nanoGPT's evaluation at iteration 0, before any update, which torchtitan never runs:
        logged only (the Trainer's model, from the metrics processor, holds the initial weights)."""
        self.estimate_loss(self.metrics_processor.model_parts[0], iteration, batches)

    def validate(self, model_parts: list[nn.Module], step: int) -> None:
        (model,) = model_parts
        estimate = self.estimate_batches(step)
        if estimate is None:
            return
        train_loss, val_loss = self.estimate_loss(model, step, estimate)
        results = {"train_loss_estimate": train_loss}
        if step == self.last_validation_step:
            validation = self.job_config.validation
            windows = window_batches(self.val_tokens, validation.seq_len, validation.local_batch_size,
                                     "validation.seq_len")
            batches = progress(windows, len(windows), "exact validation loss", "batches", report=logger.info)
            results["val_loss_exact"] = mean_loss(model, batches, self.autocast)
        self.metrics_processor.log_validation(loss=val_loss, step=step, extra_metrics=results)


def build_nanogpt_validator(
    job_config: JobConfig,
    tokenizer,
    maybe_enable_amp: AbstractContextManager,
    metrics_processor: MetricsProcessor,
    **kwargs,
) -> NanoGPTValidator:
    """The TrainSpec's validator builder (torchtitan's own would build a c4 dataloader).

    Every data-parallel rank evaluates the same batches: validation reads the same number
    whatever the degree. Tensor parallelism is refused, so the loss-parallel context torchtitan
    passes as `validation_context` never applies.
    """
    validation = job_config.validation
    if validation.steps < 1:
        raise NanoGPTTitanError(
            f"validation.steps={validation.steps}: nanoGPT validates on a fixed number of random "
            "batches (eval_iters); set validation.steps to a positive count, e.g. 200"
        )
    if validation.dataset_path not in (None, job_config.training.dataset_path):
        raise NanoGPTTitanError(
            f"validation.dataset_path={validation.dataset_path!r}: the validation split is val.bin of the training "
            "data's folder (the last 10% of a text), so set training.dataset_path only"
        )
    nanogpt_batches = dataloader.RUN_BATCHES if draws_as_nanogpt(job_config) else None
    validator = NanoGPTValidator(
        job_config,
        split_tokens(job_config, validation.dataset),
        split_tokens(job_config, job_config.training.dataset),
        maybe_enable_amp,
        metrics_processor,
        nanogpt_batches,
    )
    if nanogpt_batches is not None:
        nanogpt_batches.report = validator.report_untrained
    return validator
