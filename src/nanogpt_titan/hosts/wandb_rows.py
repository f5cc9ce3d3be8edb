"""The run's W&B rows: torchtitan's W&B run, written from metrics.jsonl's complete records with
nanoGPT's keys beside torchtitan's (the same W&B logger on every host)."""

import importlib.util
from typing import Any

from torchtitan.components.metrics import BaseLogger, WandBLogger

from nanogpt_titan.errors import NanoGPTTitanError


class WandbRows:
    """The W&B run torchtitan started, written from metrics.jsonl's complete records, in step
    order (torchtitan would log a step's metrics as they come, and W&B drops a step that comes
    after a later one): each row holds torchtitan's keys of its step and nanoGPT's.

    nanoGPT's keys are those of nanoGPT's iteration i, our step i + 1, against `iter` (i) as the
    x axis: `train/loss` and `lr` of the iteration, `mfu` (percent) where torchtitan measured
    it, and the evaluation of the weights after i updates, our validation at step i: `val/loss`
    and `train/loss_estimate` (which nanoGPT's own evaluation logs as `train/loss`). An
    evaluation after the last update gets a row of its own.
    """

    KEYS = {"loss": "train/loss", "lr": "lr", "mfu_per_device": "mfu"}
    EVALUATION_KEYS = {"val_loss": "val/loss", "train_loss_estimate": "train/loss_estimate"}

    def __init__(self, wandb_logger: WandBLogger):
        self.wandb_logger = wandb_logger
        wandb_logger.wandb.define_metric("iter")
        for key in [*self.KEYS.values(), *self.EVALUATION_KEYS.values()]:
            wandb_logger.wandb.define_metric(key, step_metric="iter")
        self.torchtitan_metrics: dict[int, dict[str, Any]] = {}
        self.evaluation: dict[str, float] = {}
        self.last_step = 0

    def log(self, metrics: dict[str, Any], step: int) -> None:
        """torchtitan's metrics of a step, held until the step's record is complete."""
        self.torchtitan_metrics.setdefault(step, {}).update(metrics)

    def add(self, record: dict[str, Any]) -> None:
        """A step's complete metrics.jsonl record."""
        step = record["step"]
        nanogpt = {key: record[ours] for ours, key in self.KEYS.items() if ours in record}
        self.wandb_logger.log(
            {**self.torchtitan_metrics.pop(step, {}), "iter": step - 1, **self.evaluation, **nanogpt}, step
        )
        self.evaluation = {key: record[ours] for ours, key in self.EVALUATION_KEYS.items() if ours in record}
        self.last_step = step

    def close(self) -> None:
        if self.evaluation:
            self.wandb_logger.log({"iter": self.last_step, **self.evaluation}, self.last_step + 1)
        self.wandb_logger.close()


def take_over_wandb(loggers: BaseLogger, enabled: bool) -> WandbRows | None:
    """torchtitan's W&B logger out of its `loggers`, to be written through `WandbRows`. A run
    asked to log to W&B without wandb installed is refused; one whose W&B run could not start
    (torchtitan has said why) logs without it."""
    wandb_logger = next((each for each in getattr(loggers, "_loggers", []) if isinstance(each, WandBLogger)), None)
    if wandb_logger is not None:
        loggers._loggers.remove(wandb_logger)
        return WandbRows(wandb_logger)
    if enabled and importlib.util.find_spec("wandb") is None:
        raise NanoGPTTitanError(
            "metrics.enable_wandb is set but wandb is not installed: pip install 'nanogpt-titan[wandb]', "
            "or drop --metrics.enable_wandb"
        )
    return None
