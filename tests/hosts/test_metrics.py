"""metrics.jsonl: complete lines, nothing of an earlier run lost."""

import json
import logging

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.metrics import MetricsFile, WandbRows, take_over_wandb
from nanogpt_titan.metrics_file import read_metrics_file


def write_lines(path, *lines: str) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def records(*steps: int) -> list[str]:
    return [json.dumps({"step": step, "loss": 4.0 - step / 10}) for step in steps]


def test_a_torn_last_line_is_dropped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    write_lines(path, *records(1, 2), '{"step": 3, "lo')
    with caplog.at_level(logging.WARNING):
        assert [r["step"] for r in read_metrics_file(path)] == [1, 2]
    assert "dropped its last line, cut short" in caplog.text


def test_a_broken_line_before_the_last_names_the_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    write_lines(path, *records(1), "garbage", *records(3))
    with pytest.raises(NanoGPTTitanError, match="metrics.jsonl: line 2 is not JSON"):
        read_metrics_file(path)


def test_a_resumed_run_keeps_earlier_steps_and_rewrites_the_rest(tmp_path):
    path = tmp_path / "metrics.jsonl"
    write_lines(path, *records(1, 2, 3, 4), '{"step": 5')  # killed after step 4, mid-write of 5
    metrics_file = MetricsFile(path)
    for step in (3, 4, 5):  # resumed from the step-2 checkpoint
        metrics_file.update(step, loss=1.0, lr=0.1)
    metrics_file.close()
    assert [(r["step"], r["loss"]) for r in read_metrics_file(path)] == [(1, 3.9), (2, 3.8), (3, 1.0), (4, 1.0), (5, 1.0)]


def test_a_new_run_moves_an_earlier_runs_file_aside(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    write_lines(path, *records(1, 2))
    (tmp_path / "metrics.1.jsonl").write_text("older\n")
    metrics_file = MetricsFile(path)
    metrics_file.update(1, loss=1.0)
    with caplog.at_level(logging.WARNING):
        metrics_file.close()
    assert [r["step"] for r in read_metrics_file(path)] == [1]
    assert (tmp_path / "metrics.2.jsonl").read_text() == "".join(line + "\n" for line in records(1, 2))
    assert (tmp_path / "metrics.1.jsonl").read_text() == "older\n"
    assert "moved to metrics.2.jsonl" in caplog.text


def test_lines_are_written_in_step_order_once_complete(tmp_path):
    metrics_file = MetricsFile(tmp_path / "metrics.jsonl")
    metrics_file.update(2, lr=0.2)
    metrics_file.update(1, lr=0.1)
    metrics_file.log({"validation_metrics/loss": 3.5, "train_loss_estimate": 3.4, "memory/num_ooms": 0}, step=1)
    metrics_file.write_before(2)
    assert read_metrics_file(tmp_path / "metrics.jsonl") == [
        {"step": 1, "lr": 0.1, "val_loss": 3.5, "train_loss_estimate": 3.4}]
    metrics_file.close()
    assert [r["step"] for r in read_metrics_file(tmp_path / "metrics.jsonl")] == [1, 2]


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
    metrics_file = MetricsFile(tmp_path / "metrics.jsonl", wandb_rows=WandbRows(wandb_logger))
    metrics_file.update(3, loss=4.0, lr=0.003)  # records complete out of order: rows go out in step order
    for step, loss in ((1, 4.2), (2, 4.1)):
        metrics_file.update(step, loss=loss, lr=step / 1000)
    metrics_file.log({"mfu(%)": 1.5, "grad_norm": 0.5}, step=2)
    metrics_file.log({"validation_metrics/loss": 4.05, "train_loss_estimate": 4.01}, step=2)
    metrics_file.log({"validation_metrics/loss": 3.95, "train_loss_estimate": 3.9}, step=3)
    metrics_file.close()
    assert wandb_logger.rows == [
        (1, {"iter": 0, "train/loss": 4.2, "lr": 0.001}),
        (2, {"mfu(%)": 1.5, "grad_norm": 0.5, "validation_metrics/loss": 4.05, "train_loss_estimate": 4.01,  # torchtitan's
             "iter": 1, "train/loss": 4.1, "lr": 0.002, "mfu": 1.5}),
        (3, {"validation_metrics/loss": 3.95, "train_loss_estimate": 3.9,
             "iter": 2, "val/loss": 4.05, "train/loss_estimate": 4.01, "train/loss": 4.0, "lr": 0.003}),
        (4, {"iter": 3, "val/loss": 3.95, "train/loss_estimate": 3.9}),  # the evaluation after the last update
    ]
    assert wandb_logger.step_metrics == {"iter": None, "train/loss": "iter", "lr": "iter", "mfu": "iter",
                                         "val/loss": "iter", "train/loss_estimate": "iter"}
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
    with pytest.raises(NanoGPTTitanError, match=r"^metrics.enable_wandb is set but wandb is not installed: pip install "
                                                r"'nanogpt-titan\[wandb\]', or drop --metrics.enable_wandb$"):
        take_over_wandb(LoggerContainer(), enabled=True)
