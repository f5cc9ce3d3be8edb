"""The run's W&B rows: nanoGPT's iterations beside torchtitan's metrics, written in step order."""

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.wandb_rows import WandbRows, take_over_wandb
from nanogpt_titan.metrics.records import MetricsFile


class FakeWandbLogger:
    """torchtitan's WandBLogger as `WandbRows` uses it: `log`, `close` and the module's `define_metric`."""

    def __init__(self):
        self.rows, self.step_metrics, self.closed = [], {}, False
        self.wandb = self

    def define_metric(self, name, step_metric=None):
        self.step_metrics[name] = step_metric

    def log(self, row, step):
        self.rows.append((step, row))

    def close(self):
        self.closed = True


def test_wandb_rows_are_nanogpts_iterations_with_the_evaluation_after_i_updates_in_row_i(tmp_path):
    wandb_logger = FakeWandbLogger()
    metrics_file = MetricsFile(tmp_path / "metrics.jsonl", reader=WandbRows(wandb_logger))
    metrics_file.update(3, loss=4.0, lr=0.003)  # records complete out of order: rows go out in step order
    for step, loss in ((1, 4.2), (2, 4.1)):
        metrics_file.update(step, loss=loss, lr=step / 1000)
    metrics_file.log({"mfu(%)": 1.5, "grad_norm": 0.5}, step=2)
    metrics_file.log({"validation_metrics/loss": 4.05, "train_loss_estimate": 4.01}, step=2)
    metrics_file.log({"validation_metrics/loss": 3.95, "train_loss_estimate": 3.9}, step=3)
    metrics_file.close()
    assert wandb_logger.rows == [
        (1, {"iter": 0, "train/loss": 4.2, "lr": 0.001}),
        (
            2,
            {
                "mfu(%)": 1.5,
                "grad_norm": 0.5,
                "validation_metrics/loss": 4.05,
                "train_loss_estimate": 4.01,  # torchtitan's
                "iter": 1,
                "train/loss": 4.1,
                "lr": 0.002,
                "mfu": 1.5,
            },
        ),
        (
            3,
            {
                "validation_metrics/loss": 3.95,
                "train_loss_estimate": 3.9,
                "iter": 2,
                "val/loss": 4.05,
                "train/loss_estimate": 4.01,
                "train/loss": 4.0,
                "lr": 0.003,
            },
        ),
        (4, {"iter": 3, "val/loss": 3.95, "train/loss_estimate": 3.9}),  # the evaluation after the last update
    ]
    assert wandb_logger.step_metrics == {
        "iter": None,
        "train/loss": "iter",
        "lr": "iter",
        "mfu": "iter",
        "val/loss": "iter",
        "train/loss_estimate": "iter",
    }
    assert wandb_logger.closed


def test_torchtitans_wandb_logger_is_taken_over_and_the_rest_stay():
    from torchtitan.components.metrics import LoggerContainer, WandBLogger

    wandb_logger = WandBLogger.__new__(WandBLogger)  # as torchtitan made it, without a W&B run
    wandb_logger.wandb = FakeWandbLogger()
    loggers, tensorboard = LoggerContainer(), object()
    loggers.add_logger(tensorboard)
    loggers.add_logger(wandb_logger)
    assert take_over_wandb(loggers, enabled=True).wandb_logger is wandb_logger
    assert loggers._loggers == [tensorboard]
    assert take_over_wandb(LoggerContainer(), enabled=False) is None


def test_asking_for_wandb_without_wandb_installed_is_refused(monkeypatch):
    from torchtitan.components.metrics import LoggerContainer

    monkeypatch.setattr("importlib.util.find_spec", lambda name: None if name == "wandb" else object())
    with pytest.raises(
        NanoGPTTitanError,
        match=r"^metrics.enable_wandb is set but wandb is not installed: pip install "
        r"'nanogpt-titan\[wandb\]', or drop --metrics.enable_wandb$",
    ):
        take_over_wandb(LoggerContainer(), enabled=True)
