"""What a run says when it ends: its summary, an interruption's resume hint, why nothing
trained. Pure functions of the run's facts and records."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nanogpt_titan.data.vocabulary import Vocabulary
from nanogpt_titan.metrics.records import METRICS_FILE
from nanogpt_titan.model.args import NanoGPTModelArgs


@dataclass
class RunFacts:
    """What a run's records say beside its numbers, in any host's settings."""

    dump_folder: Path
    dump_folder_setting: str  # the host's flag for it, e.g. "--job.dump_folder"
    training_steps: int
    enable_wandb: bool
    checkpoint_folder: Path | None  # where the run saves checkpoints; None if it saves none
    model_args: NanoGPTModelArgs
    vocabulary: Callable[[], Vocabulary]  # the data's, read when the first step is done
    loaded: Path | None  # the checkpoint the run starts from, as torchtitan decides it
    log_freq: int  # metrics.log_freq: nanoGPT's log_interval


def interruption_note(step: int, run: RunFacts, saved: dict[int, str], resume_command: str) -> str:
    """Where an interrupted run stopped, and how it resumes from its `saved` checkpoints (step:
    folder name)."""
    where = f"interrupted at step {step} of {run.training_steps}"
    if not saved:
        return f"{where}; no checkpoint was saved, so a rerun starts over"
    last = max(saved)
    return f"{where}; its last checkpoint is step {last} ({saved[last]}): {resume_command} continues from it"


def nothing_trained_note(run: RunFacts, records: list[dict]) -> str:
    """Why a run ended without a step: it had already reached training.steps."""
    last = max((record["step"] for record in records), default=0)
    if last < run.training_steps:
        return "No training step ran."
    return (
        f"The run in {run.dump_folder} is complete (step {last} of training.steps={run.training_steps}): "
        f"nothing left to train. Raise --training.steps to train on, or give another "
        f"{run.dump_folder_setting} to start over."
    )


def run_summary(run: RunFacts, records: list[dict], saved_checkpoints: bool) -> str:
    """The whole run (earlier sessions of a resumed run included) in a few lines: what it
    loaded, its validation losses, where its records are, what to run next."""
    lines = [f"metrics: {run.dump_folder / METRICS_FILE}"]
    if run.loaded is not None:
        lines.insert(0, f"loaded: {run.loaded}")
    validations = {record["step"]: record for record in records if "val_loss" in record}
    if validations:
        last = validations[max(validations)]
        best = min(validations.values(), key=lambda record: record["val_loss"])
        exact = f" (exact {last['val_loss_exact']:.4f})" if "val_loss_exact" in last else ""
        lines.insert(
            0,
            f"val loss: final {last['val_loss']:.4f} at step {last['step']}{exact}, "
            f"best {best['val_loss']:.4f} at step {best['step']}",
        )
    if saved_checkpoints:
        lines += [f"checkpoints: {run.checkpoint_folder}", f"sample the model: nanogpt-titan sample {run.dump_folder}"]
    return "Run summary:\n  " + "\n  ".join(lines)
