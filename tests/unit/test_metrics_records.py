"""metrics.jsonl: complete lines, nothing of an earlier run lost; what a run says when it ends."""

import json
import logging
from pathlib import Path

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.metrics.records import MetricsFile, read_metrics_file
from nanogpt_titan.metrics.summary import RunFacts, interruption_note, nothing_trained_note, run_summary


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
    assert [(r["step"], r["loss"]) for r in read_metrics_file(path)] == [
        (1, 3.9),
        (2, 3.8),
        (3, 1.0),
        (4, 1.0),
        (5, 1.0),
    ]


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
        {"step": 1, "lr": 0.1, "val_loss": 3.5, "train_loss_estimate": 3.4}
    ]
    metrics_file.close()
    assert [r["step"] for r in read_metrics_file(tmp_path / "metrics.jsonl")] == [1, 2]


def run_facts(**facts) -> RunFacts:
    return RunFacts(
        **{
            "dump_folder": Path("/runs/a"),
            "dump_folder_setting": "--job.dump_folder",
            "training_steps": 10,
            "enable_wandb": False,
            "checkpoint_folder": Path("/runs/a/checkpoint"),
            "model_args": None,
            "vocabulary": None,
            "loaded": None,
            "log_freq": 1,
            **facts,
        }
    )


def test_an_interruption_names_the_last_checkpoint_and_the_command_that_resumes():
    assert interruption_note(7, run_facts(), {2: "step-2", 6: "step-6"}, "nanogpt-titan train x.py") == (
        "interrupted at step 7 of 10; its last checkpoint is step 6 (step-6): nanogpt-titan train x.py continues from it"
    )
    assert interruption_note(3, run_facts(), {}, "unused") == (
        "interrupted at step 3 of 10; no checkpoint was saved, so a rerun starts over"
    )


def test_a_run_with_nothing_left_to_train_says_how_to_go_on():
    assert nothing_trained_note(run_facts(), [{"step": 9}, {"step": 10}]) == (
        "The run in /runs/a is complete (step 10 of training.steps=10): nothing left to train. "
        "Raise --training.steps to train on, or give another --job.dump_folder to start over."
    )
    assert nothing_trained_note(run_facts(), [{"step": 9}]) == "No training step ran."
    assert nothing_trained_note(run_facts(), []) == "No training step ran."


def test_the_summary_gives_the_final_and_best_validation_and_what_to_run_next():
    records = [
        {"step": 1},
        {"step": 4, "val_loss": 2.5},
        {"step": 8, "val_loss": 2.25},
        {"step": 10, "val_loss": 2.375, "val_loss_exact": 2.3125},
    ]
    assert run_summary(run_facts(loaded=Path("/ckpt/step-0")), records, saved_checkpoints=True).splitlines() == [
        "Run summary:",
        "  val loss: final 2.3750 at step 10 (exact 2.3125), best 2.2500 at step 8",
        "  loaded: /ckpt/step-0",
        "  metrics: /runs/a/metrics.jsonl",
        "  checkpoints: /runs/a/checkpoint",
        "  sample the model: nanogpt-titan sample /runs/a",
    ]
    assert (
        run_summary(run_facts(), [{"step": 1}], saved_checkpoints=False)
        == "Run summary:\n  metrics: /runs/a/metrics.jsonl"
    )
