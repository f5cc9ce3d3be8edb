"""Overlay nanoGPT training logs and our runs' metrics.jsonl: a PNG and a text table.

Each side may hold several runs (seeds, say): the table and the figure show each side's mean
and its spread, the lowest and highest run. Steps are aligned the way the two loops count:
nanoGPT's `iter N` line is the loss of its (0-based) iteration N, our step N + 1; nanoGPT's
`step N: train loss A, val loss B` is the evaluation after N updates, our validation at step N.
nanoGPT's stdout has no learning rate, so the lr panel shows our runs only.
"""

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.metrics.records import METRICS_FILE, read_metrics_file
from nanogpt_titan.safe_write import refuse_existing, written_atomically

ITER_LINE = re.compile(r"^iter (\d+): loss ([-+\d.eE]+|nan|inf)")
EVAL_LINE = re.compile(r"^step (\d+): train loss ([-+\d.eE]+), val loss ([-+\d.eE]+)")
SMOOTHING_WINDOW = 50

Series = dict[int, float]


@dataclass
class Curves:
    """One run's curves, keyed by our 1-based step."""

    name: str
    train_loss: Series = field(default_factory=dict)
    val_loss: Series = field(default_factory=dict)
    train_loss_estimate: Series = field(default_factory=dict)
    val_loss_exact: Series = field(default_factory=dict)
    lr: Series = field(default_factory=dict)


def read_nanogpt_log(path: Path) -> Curves:
    curves = Curves(name=path.name)
    for line in path.read_text().splitlines():
        if match := ITER_LINE.match(line.strip()):
            curves.train_loss[int(match[1]) + 1] = float(match[2])
        elif match := EVAL_LINE.match(line.strip()):
            curves.train_loss_estimate[int(match[1])] = float(match[2])
            curves.val_loss[int(match[1])] = float(match[3])
    if not curves.train_loss and not curves.val_loss:
        raise NanoGPTTitanError(
            f"{path} holds no nanoGPT log lines ('iter N: loss X, ...' or "
            "'step N: train loss A, val loss B'); run nanoGPT's train.py with --log_interval=1"
        )
    return curves


def read_metrics(path: Path) -> Curves:
    metrics_file = path / METRICS_FILE if path.is_dir() else path
    if not metrics_file.is_file():
        raise NanoGPTTitanError(f"{metrics_file} does not exist: pass a run's dump folder or its metrics.jsonl")
    curves = Curves(name=metrics_file.parent.name)
    for record in read_metrics_file(metrics_file):
        step = record["step"]
        curves.train_loss[step] = record["loss"]
        curves.lr[step] = record["lr"]
        for key in ("val_loss", "train_loss_estimate", "val_loss_exact"):
            if key in record:
                getattr(curves, key)[step] = record[key]
    return curves


def is_our_run(path: Path) -> bool:
    return path.is_dir() or path.suffix == ".jsonl"


def smoothed(series: Series, window: int = SMOOTHING_WINDOW) -> Series:
    """Trailing moving average over the last `window` logged steps."""
    steps, values = sorted(series), [series[s] for s in sorted(series)]
    return {
        step: sum(values[max(0, i - window + 1) : i + 1]) / (i + 1 - max(0, i - window + 1))
        for i, step in enumerate(steps)
    }


@dataclass
class Band:
    """A side's runs at one step: their mean, lowest and highest value."""

    mean: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.mean:.4f}" if self.low == self.high else f"{self.mean:.4f} ({self.low:.4f}-{self.high:.4f})"


def bands(series: list[Series]) -> dict[int, Band]:
    """Per step that every run has: the mean and the spread across runs."""
    shared = set.intersection(*(set(s) for s in series)) if series else set()
    return {
        step: Band(
            statistics.fmean(s[step] for s in series), min(s[step] for s in series), max(s[step] for s in series)
        )
        for step in sorted(shared)
    }


def comparison_table(nanogpt: list[Curves], ours: list[Curves]) -> str:
    lines = [
        f"nanoGPT: {len(nanogpt)} run(s): {', '.join(run.name for run in nanogpt)}",
        f"ours: {len(ours)} run(s): {', '.join(run.name for run in ours)}",
        "values are the mean over runs, with the lowest and highest run in brackets",
        "",
        "| step | nanoGPT val | ours val | ours - nanoGPT | nanoGPT train (est.) | ours train (est.) |",
        "|---|---|---|---|---|---|",
    ]
    their_val, our_val = bands([r.val_loss for r in nanogpt]), bands([r.val_loss for r in ours])
    their_train, our_train = (
        bands([r.train_loss_estimate for r in nanogpt]),
        bands([r.train_loss_estimate for r in ours]),
    )
    for step in sorted(their_val.keys() & our_val.keys()):
        lines.append(
            f"| {step} | {their_val[step]} | {our_val[step]} | {our_val[step].mean - their_val[step].mean:+.4f} | "
            f"{their_train.get(step, '-')} | {our_train.get(step, '-')} |"
        )
    their_smooth = bands([smoothed(r.train_loss) for r in nanogpt])
    our_smooth = bands([smoothed(r.train_loss) for r in ours])
    shared_steps = their_smooth.keys() & our_smooth.keys()
    if shared_steps:
        gap = statistics.fmean(abs(our_smooth[s].mean - their_smooth[s].mean) for s in shared_steps)
        lines.append(
            f"\nmean |difference| of the mean smoothed train loss (window {SMOOTHING_WINDOW}, "
            f"{len(shared_steps)} steps): {gap:.4f}"
        )
    for label, runs in (("nanoGPT", nanogpt), ("ours", ours)):
        for run in runs:
            if run.val_loss:
                last = max(run.val_loss)
                exact = f", exact {run.val_loss_exact[last]:.4f}" if last in run.val_loss_exact else ""
                lines.append(
                    f"{label} {run.name}: final val loss {run.val_loss[last]:.4f} (step {last}){exact}, "
                    f"best {min(run.val_loss.values()):.4f}"
                )
    return "\n".join(lines) + "\n"


def plot(nanogpt: list[Curves], ours: list[Curves], png_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (train_axis, val_axis, lr_axis) = plt.subplots(1, 3, figsize=(16, 4.5))
    for label, runs, style in (("nanoGPT", nanogpt, "-"), ("nanogpt_titan", ours, "--")):
        name = f"{label} ({len(runs)} run{'s' if len(runs) > 1 else ''})"
        for axis, series, marker in (
            (train_axis, [smoothed(r.train_loss) for r in runs], ""),
            (val_axis, [r.val_loss for r in runs], "o"),
            (lr_axis, [r.lr for r in runs if r.lr], ""),
        ):
            per_step = bands(series)
            if not per_step:
                continue
            steps = list(per_step)
            (line,) = axis.plot(steps, [b.mean for b in per_step.values()], style + marker, label=name)
            axis.fill_between(
                steps,
                [b.low for b in per_step.values()],
                [b.high for b in per_step.values()],
                color=line.get_color(),
                alpha=0.2,
            )
    for axis, title in (
        (train_axis, f"train loss ({SMOOTHING_WINDOW}-step moving average)"),
        (val_axis, "val loss"),
        (lr_axis, "learning rate"),
    ):
        axis.set_title(title)
        axis.set_xlabel("step")
        axis.legend(fontsize="small")
    figure.suptitle("lines: mean over runs; bands: lowest to highest run")
    figure.tight_layout()
    with written_atomically(png_path) as partial:
        figure.savefig(partial, dpi=110, format="png")
    plt.close(figure)


def compare(paths: list[Path], output: Path) -> str:
    """Write `output` (PNG) and `output` with suffix .txt (the table); return the table.

    Each path is a nanoGPT stdout log, or one of our runs (a dump folder or its metrics.jsonl).
    """
    nanogpt = [read_nanogpt_log(path) for path in paths if not is_our_run(path)]
    ours = [read_metrics(path) for path in paths if is_our_run(path)]
    if not nanogpt or not ours:
        raise NanoGPTTitanError(
            "give at least one nanoGPT log and one of our runs (a dump folder or metrics.jsonl); got "
            f"{len(nanogpt)} log(s) and {len(ours)} run(s)"
        )
    table_path = output.with_suffix(".txt")
    refuse_existing(output, table_path)
    table = comparison_table(nanogpt, ours)
    plot(nanogpt, ours, output)
    with written_atomically(table_path) as partial:
        partial.write_text(table)
    return table
