"""Overlay a nanoGPT training log and our runs' metrics.jsonl: a PNG and a text table.

Steps are aligned the way the two loops count: nanoGPT's `iter N` line is the loss of its
(0-based) iteration N, our step N + 1; nanoGPT's `step N: train loss A, val loss B` is the
evaluation after N updates, our validation at step N. nanoGPT's stdout has no learning rate,
so the lr panel shows our runs only.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from nanogpt_titan.metrics import METRICS_FILE, read_metrics_file

ITER_LINE = re.compile(r"^iter (\d+): loss ([-+\d.eE]+|nan|inf)")
EVAL_LINE = re.compile(r"^step (\d+): train loss ([-+\d.eE]+), val loss ([-+\d.eE]+)")
SMOOTHING_WINDOW = 50


@dataclass
class Curves:
    """One run's curves, keyed by our 1-based step."""

    name: str
    train_loss: dict[int, float] = field(default_factory=dict)
    val_loss: dict[int, float] = field(default_factory=dict)
    train_loss_estimate: dict[int, float] = field(default_factory=dict)
    lr: dict[int, float] = field(default_factory=dict)


def read_nanogpt_log(path: Path) -> Curves:
    curves = Curves(name=f"nanoGPT ({path.name})")
    for line in path.read_text().splitlines():
        if match := ITER_LINE.match(line.strip()):
            curves.train_loss[int(match[1]) + 1] = float(match[2])
        elif match := EVAL_LINE.match(line.strip()):
            curves.train_loss_estimate[int(match[1])] = float(match[2])
            curves.val_loss[int(match[1])] = float(match[3])
    if not curves.train_loss and not curves.val_loss:
        raise ValueError(
            f"{path} holds no nanoGPT log lines ('iter N: loss X, ...' or "
            "'step N: train loss A, val loss B'); run nanoGPT's train.py with --log_interval=1"
        )
    return curves


def read_metrics(path: Path) -> Curves:
    metrics_file = path / METRICS_FILE if path.is_dir() else path
    if not metrics_file.is_file():
        raise FileNotFoundError(f"{metrics_file} does not exist: pass a run's dump folder or its metrics.jsonl")
    curves = Curves(name=f"nanogpt_titan ({metrics_file.parent.name})")
    for record in read_metrics_file(metrics_file):
        step = record["step"]
        curves.train_loss[step] = record["loss"]
        curves.lr[step] = record["lr"]
        if "val_loss" in record:
            curves.val_loss[step] = record["val_loss"]
        if "train_loss_estimate" in record:
            curves.train_loss_estimate[step] = record["train_loss_estimate"]
    return curves


def smoothed(series: dict[int, float], window: int = SMOOTHING_WINDOW) -> dict[int, float]:
    """Trailing moving average over the last `window` logged steps."""
    steps, values = sorted(series), [series[s] for s in sorted(series)]
    return {
        step: sum(values[max(0, i - window + 1) : i + 1]) / (i + 1 - max(0, i - window + 1))
        for i, step in enumerate(steps)
    }


def _optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def comparison_table(reference: Curves, runs: list[Curves]) -> str:
    lines = [f"reference: {reference.name}"]
    theirs_smooth = smoothed(reference.train_loss)
    for run in runs:
        shared_evals = sorted(reference.val_loss.keys() & run.val_loss.keys())
        lines += [
            f"\nrun: {run.name}",
            "| step | nanoGPT val | ours val | diff | nanoGPT train (est.) | ours train (est.) |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {s} | {reference.val_loss[s]:.4f} | {run.val_loss[s]:.4f} | "
            f"{run.val_loss[s] - reference.val_loss[s]:+.4f} | "
            f"{_optional(reference.train_loss_estimate.get(s))} | {_optional(run.train_loss_estimate.get(s))} |"
            for s in shared_evals
        ]
        ours_smooth = smoothed(run.train_loss)
        shared_steps = ours_smooth.keys() & theirs_smooth.keys()
        if shared_steps:
            mean_gap = sum(abs(ours_smooth[s] - theirs_smooth[s]) for s in shared_steps) / len(shared_steps)
            lines.append(
                f"mean |difference| of smoothed train loss (window {SMOOTHING_WINDOW}, "
                f"{len(shared_steps)} steps): {mean_gap:.4f}"
            )
        for label, curves in (("nanoGPT", reference), ("ours", run)):
            if curves.val_loss:
                last = max(curves.val_loss)
                lines.append(
                    f"{label}: final val loss {curves.val_loss[last]:.4f} (step {last}), "
                    f"best {min(curves.val_loss.values()):.4f}"
                )
    return "\n".join(lines) + "\n"


def plot(reference: Curves, runs: list[Curves], png_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (train_axis, val_axis, lr_axis) = plt.subplots(1, 3, figsize=(16, 4.5))
    for curves, style in [(reference, "-"), *[(run, "--") for run in runs]]:
        series = smoothed(curves.train_loss)
        train_axis.plot(list(series), list(series.values()), style, label=curves.name)
        val_axis.plot(list(curves.val_loss), list(curves.val_loss.values()), style + "o", label=curves.name)
        if curves.lr:
            lr_axis.plot(list(curves.lr), list(curves.lr.values()), style, label=curves.name)
    for axis, title in ((train_axis, f"train loss (moving average, {SMOOTHING_WINDOW} steps)"),
                        (val_axis, "val loss"), (lr_axis, "learning rate")):
        axis.set_title(title)
        axis.set_xlabel("step")
        axis.legend(fontsize="small")
    figure.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, dpi=110)
    plt.close(figure)


def compare(nanogpt_log: Path, runs: list[Path], output: Path) -> str:
    """Write `output` (PNG) and `output` with suffix .txt (the table); return the table."""
    reference = read_nanogpt_log(nanogpt_log)
    run_curves = [read_metrics(run) for run in runs]
    table = comparison_table(reference, run_curves)
    plot(reference, run_curves, output)
    output.with_suffix(".txt").write_text(table)
    return table
