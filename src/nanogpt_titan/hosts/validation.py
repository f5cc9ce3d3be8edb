"""Validation the nanoGPT way, for both adapters: `estimate_loss` on both splits, and the exact
loss at the end. Each adapter's validator is torchtitan's `BaseValidator` of its release with
`Evaluation` mixed in."""

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch.nn as nn
from torchtitan.tools.logging import logger

from nanogpt_titan.data.folder import TokenFile
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.evaluate import mean_loss, random_batches, window_batches
from nanogpt_titan.progress import progress
from nanogpt_titan.randomness import Randomness


@dataclass
class EvaluationSettings:
    """An evaluation's shape, from the host's settings (named as the host names them)."""

    val_tokens: TokenFile
    train_tokens: TokenFile
    seq_len: int
    batch_size: int
    steps: int  # batches per split
    seed: int
    last_step: int  # the run's last validation: it adds the exact loss
    seq_len_setting: str = "validation.seq_len"
    autocast: AbstractContextManager = field(default_factory=nullcontext)


class Evaluation:
    """Mean loss of `steps` random batches, in eval mode (no dropout).

    Like nanoGPT's `estimate_loss`, each validation reports the validation split's loss and
    an estimate of the training split's (`train_loss_estimate`), so the eval tables of the
    two programs line up column for column, and logs nanoGPT's own line for it. The batches
    come from a generator seeded afresh from the run's seed on every call: two evaluations of
    the same weights see the same batches. Drawing as nanoGPT (the run's `randomness`) they are
    nanoGPT's instead, drawn in its order, and as in nanoGPT only every `eval_interval`-th step
    is evaluated, on the first rank alone: through the model's own forward, never through DDP's
    hooks, whose first call sets DDP up with collectives that the other ranks do not join.

    The last validation of the run also reports `val_loss_exact`, the loss over every
    non-overlapping window of the validation split: the run's headline number, which no
    choice of random batches moves.
    """

    def start_evaluation(self, settings: EvaluationSettings, metrics_processor, randomness: Randomness) -> None:
        if settings.steps < 1:
            raise NanoGPTTitanError(
                f"validation.steps={settings.steps}: nanoGPT validates on a fixed number of random "
                "batches (eval_iters); set validation.steps to a positive count, e.g. 200"
            )
        self.settings = settings
        self.metrics_processor = metrics_processor
        self.nanogpt_batches = randomness.nanogpt_batches
        if self.nanogpt_batches is not None:
            self.nanogpt_batches.report = self.report_untrained  # iteration 0's, drawn with the first batch
        for tokens in (settings.val_tokens, settings.train_tokens):
            self.batches(tokens)  # a split too short for the context is refused now, not mid-run

    def batches(self, tokens: TokenFile):
        settings = self.settings
        return random_batches(
            tokens, settings.seq_len, settings.batch_size, settings.steps, settings.seed, settings.seq_len_setting
        )

    def estimate_batches(self, step: int) -> dict | None:
        """Each split's batches for the estimate after `step` updates; None: no evaluation."""
        if self.nanogpt_batches is not None:
            return self.nanogpt_batches.evaluation(step)
        return {"train": self.batches(self.settings.train_tokens), "val": self.batches(self.settings.val_tokens)}

    def estimate_loss(self, model: nn.Module, step: int, batches: dict) -> tuple[float, float]:
        """nanoGPT's `estimate_loss` (train, val) on `batches`, logged as nanoGPT prints it."""
        train, val = (self.mean_loss(model, batches[split]) for split in ("train", "val"))
        logger.info(f"step {step}: train loss {train:.4f}, val loss {val:.4f}")
        return train, val

    def mean_loss(self, model: nn.Module, batches) -> float:
        forward = model if self.nanogpt_batches is None else model.forward  # the first rank alone: no hooks
        return mean_loss(model, batches, self.settings.autocast, forward)

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
        if step == self.settings.last_step:
            settings = self.settings
            windows = window_batches(
                settings.val_tokens, settings.seq_len, settings.batch_size, settings.seq_len_setting
            )
            batches = progress(windows, len(windows), "exact validation loss", "batches", report=logger.info)
            results["val_loss_exact"] = self.mean_loss(model, batches)
        self.metrics_processor.log_validation(loss=val_loss, step=step, extra_metrics=results)


def last_validation_step(training_steps: int, freq: int) -> int:
    """The step of a run's last validation (torchtitan validates at step 1 and every `freq`)."""
    return max(1, training_steps - training_steps % freq)
