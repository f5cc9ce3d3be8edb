"""metrics.jsonl: complete lines, nothing of an earlier run lost."""

import json
import logging

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.metrics import MetricsFile, read_metrics_file


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
