"""torchtitan's metrics, plus `metrics.jsonl`: one JSON object per training step. Both adapters
use this module: torchtitan's metrics API (its processor, loggers, W&B logger) is the same in
0.2 and 0.3; each adapter makes its processor from `RunRecords` and tells it `RunFacts`.

Every line holds `step`, `loss` (the mean over all data-parallel ranks) and `lr` (the rate
used at that step). Every `metrics.log_freq` steps, torchtitan's logging cadence, and at the
last step, the line also holds torchtitan's own measurements of the steps since the previous
log: `grad_norm`, `tokens_per_second_per_device` (torchtitan's tps),
`tokens_per_second_global` (over all data-parallel ranks), `mfu_per_device` (percent of one
device's peak by nanoGPT's FLOP formula; every device does the same work, so it is also the
run's) and `time_ms` (mean wall time per step). Validation steps add `val_loss` and
`train_loss_estimate`, and the run's last validation `val_loss_exact`. Rank 0 writes the file.

Between two logging steps each step's loss stays on the device (the run's `StepLoss`, which the
adapter's loss function feeds): the host reads device values once per `log_freq` steps, never
waiting for the device in between. A run that draws as nanoGPT also logs nanoGPT's `iter` line
for each of its iterations that nanoGPT logs, with the loss nanoGPT prints there: the last
micro-batch's of the first rank. The file is one more torchtitan metric logger (beside
TensorBoard and W&B); a step's line is written when a later step starts, so training and
validation results of a step end up on one line whatever order torchtitan reports them in.
"""

import importlib.util
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torchtitan.components.metrics import BaseLogger, LoggerContainer, WandBLogger
from torchtitan.tools.logging import logger

from nanogpt_titan.checkpoint.read import saved_steps
from nanogpt_titan.checkpoint.write import write_description
from nanogpt_titan.data.vocabulary import Vocabulary
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.metrics_file import METRICS_FILE, read_metrics_file
from nanogpt_titan.model.args import NanoGPTModelArgs
from nanogpt_titan.process import mind_the_process, resume_command
from nanogpt_titan.run import NanoGPTRun

# torchtitan's metric names -> metrics.jsonl's; validation extras keep their own names.
RECORDED = {
    "grad_norm": "grad_norm",
    "throughput(tps)": "tokens_per_second_per_device",
    "mfu(%)": "mfu_per_device",
    "validation_metrics/loss": "val_loss",
    "train_loss_estimate": "train_loss_estimate",
    "val_loss_exact": "val_loss_exact",
}


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
        self.wandb_logger.log({**self.torchtitan_metrics.pop(step, {}), "iter": step - 1, **self.evaluation, **nanogpt},
                              step)
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


class MetricsFile(BaseLogger):
    """metrics.jsonl, written as torchtitan logs: complete lines only, one per step, each also
    handed to `wandb_rows` (with torchtitan's metrics of the step) when W&B is on.

    A run that resumes keeps the earlier run's lines before its first step and rewrites the
    rest; a run that starts over at step 1 moves an earlier file aside, never discarding it.
    """

    def __init__(self, path: Path | None, data_parallel_ranks: int = 1, wandb_rows: WandbRows | None = None):
        self.path = path  # None on ranks other than 0: records are kept until complete, not written
        self.data_parallel_ranks = data_parallel_ranks
        self.wandb_rows = wandb_rows
        self.records: dict[int, dict[str, Any]] = {}
        self.started = False

    def update(self, step: int, **values) -> None:
        self.records.setdefault(step, {"step": step}).update(values)

    def log(self, metrics: dict[str, Any], step: int) -> None:
        if self.wandb_rows is not None:
            self.wandb_rows.log(metrics, step)
        values = {RECORDED[name]: value for name, value in metrics.items() if name in RECORDED}
        if "tokens_per_second_per_device" in values:  # synchronous ranks all process as many tokens
            values["tokens_per_second_global"] = values["tokens_per_second_per_device"] * self.data_parallel_ranks
        self.update(step, **values)

    def write_before(self, step: int | None = None) -> None:
        """Append the records of every step before `step` (all of them when None)."""
        done = sorted(s for s in self.records if step is None or s < step)
        if not done or self.path is None:
            for s in done:
                del self.records[s]
            return
        if not self.started:
            self._start(first_step=done[0])
        records = [self.records.pop(s) for s in done]
        with self.path.open("a") as file:
            file.writelines(json.dumps(record) + "\n" for record in records)
        if self.wandb_rows is not None:
            for record in records:
                self.wandb_rows.add(record)

    def close(self) -> None:
        self.write_before(None)
        if self.wandb_rows is not None:
            self.wandb_rows.close()

    def _start(self, first_step: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.started = True
        if not self.path.exists():
            return
        if first_step == 1:
            kept_as = next(p for n in range(1, 10_000) if not (p := self.path.with_suffix(f".{n}.jsonl")).exists())
            self.path.rename(kept_as)
            logger.warning(f"{self.path} held an earlier run's records: moved to {kept_as.name}")
            return
        kept = [record for record in read_metrics_file(self.path) if record["step"] < first_step]
        partial = self.path.with_suffix(".jsonl.partial")
        partial.write_text("".join(json.dumps(record) + "\n" for record in kept))
        partial.replace(self.path)


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


class RunRecords:
    """A host's torchtitan `MetricsProcessor` (the class this is mixed into), at torchtitan's
    cadence, that also closes every step's record.

    torchtitan asks `should_log(step)` once every step: 0.2 when the step ends, 0.3 when it
    begins (`ASKS_AT_STEP_END`). That is where the step just done has its loss (still on the
    device) and learning rate collected; on 0.3 a logging step's own are collected when it is
    logged, at its end.
    """

    ASKS_AT_STEP_END = True

    def start_records(self, run: RunFacts, parallel_dims, enable_wandb: bool, nanogpt_run: NanoGPTRun) -> None:
        """Called by the host's processor once torchtitan's has been made."""
        self.run = run
        mind_the_process(self.interruption)
        self.step_loss = nanogpt_run.step_loss
        self.logs_nanogpt_iterations = nanogpt_run.randomness.as_nanogpt
        self.described = False
        self.is_rank_zero = torch.distributed.get_rank() == 0
        self.loss_mesh = parallel_dims.get_optional_mesh("loss")  # None without data parallelism
        self.metrics_file = MetricsFile(
            run.dump_folder / METRICS_FILE if self.is_rank_zero else None,
            data_parallel_ranks=parallel_dims.dp_replicate * parallel_dims.dp_shard,
            wandb_rows=take_over_wandb(self.logger, enable_wandb),
        )
        if self.is_rank_zero:
            loggers = LoggerContainer()
            loggers.add_logger(self.logger)
            loggers.add_logger(self.metrics_file)
            self.logger = loggers
        self.unread_losses: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # step: (mean, last micro-batch's)
        self.steps_since_last_log = 0
        self.steps_trained = 0  # by this process: 0 when a finished run is started again
        self.last_step = 0
        self.step_lr: float | None = None

    @property
    def optimizers(self):
        return self._optimizers

    @optimizers.setter
    def optimizers(self, optimizers) -> None:
        """torchtitan hands the optimizers over once they exist: note each step's rate then."""
        self._optimizers = optimizers
        if optimizers is not None:
            optimizers.register_step_pre_hook(self._note_learning_rate)

    def _note_learning_rate(self, container, args, kwargs) -> None:
        self.step_lr = container.optimizers[0].param_groups[0]["lr"]  # what the schedulers set

    def describe_run(self) -> None:
        """Record, beside the run's metrics, what its checkpoints' tensors cannot say: the model
        args and the vocabulary (`nanogpt-titan sample RUN_FOLDER` and `evaluate` read them).
        Once the first step is done: a run that fails to start leaves nothing behind."""
        self.run.dump_folder.mkdir(parents=True, exist_ok=True)
        write_description(self.run.dump_folder, self.run.model_args, self.run.vocabulary())
        self.described = True

    def collect(self, step: int) -> None:
        """The loss and learning rate of `step`, just done (nothing if no step was)."""
        losses = self.step_loss.take()
        if losses is not None:
            self.unread_losses[step] = losses
            self.metrics_file.update(step, lr=self.step_lr)

    def should_log(self, step: int) -> bool:
        if not self.described and self.is_rank_zero:
            self.describe_run()
        self.collect(step if self.ASKS_AT_STEP_END else step - 1)
        self.metrics_file.write_before(min([step, *self.unread_losses]))  # complete lines only
        self.last_step = step
        self.steps_since_last_log += 1
        self.steps_trained += 1
        return super().should_log(step) or step == self.run.training_steps

    def log(self, step, global_avg_loss, global_max_loss, grad_norm, extra_metrics=None):
        self.collect(step)
        last_losses = self.read_losses()
        window_seconds = time.perf_counter() - self.time_last_log
        self.metrics_file.update(step, time_ms=1000 * window_seconds / self.steps_since_last_log)
        super().log(step, global_avg_loss, global_max_loss, grad_norm, extra_metrics)
        if self.logs_nanogpt_iterations and self.is_rank_zero:
            self.log_nanogpt_iterations(last_losses, self.metrics_file.records[step])
        self.steps_since_last_log = 0
        ranks = self.metrics_file.data_parallel_ranks
        if ranks > 1 and self.is_rank_zero:  # the only rank whose metrics file receives torchtitan's
            global_rate = self.metrics_file.records[step]["tokens_per_second_global"]
            logger.info(f"tps and mfu above are per device; over all {ranks} data-parallel ranks: "
                        f"{round(global_rate):,} tokens/s")

    def log_validation(self, loss: float, step: int, extra_metrics=None):
        super().log_validation(loss, step, extra_metrics)
        self.steps_since_last_log = 0  # torchtitan restarts its throughput window here

    def read_losses(self) -> dict[int, float]:
        """Every collected step's loss, averaged over the data-parallel ranks in one all-reduce
        and read from the device in one copy, with this rank's last micro-batch loss of each
        (returned). Every rank calls it at the same steps."""
        if not self.unread_losses:
            return {}
        steps = list(self.unread_losses)
        means, lasts = (torch.stack(losses) for losses in zip(*(self.unread_losses.pop(step) for step in steps)))
        if self.loss_mesh is not None:  # equal token counts: the global mean is the mean of rank means
            torch.distributed.all_reduce(means, group=self.loss_mesh.get_group())
            means /= self.loss_mesh.size()
        means, lasts = torch.stack([means, lasts]).tolist()
        for step, loss in zip(steps, means):
            self.metrics_file.update(step, loss=loss)
        return dict(zip(steps, lasts))

    def log_nanogpt_iterations(self, last_losses: dict[int, float], logged: dict) -> None:
        """nanoGPT's `iter` line of each iteration it logs (every log_interval-th), with the
        timing and MFU of the logging window they fall in."""
        for step, loss in last_losses.items():
            if (step - 1) % self.run.log_freq == 0:
                logger.info(f"iter {step - 1}: loss {loss:.4f}, time {logged['time_ms']:.2f}ms, "
                            f"mfu {logged.get('mfu_per_device', 0.0):.2f}%")

    def close(self):
        if self.loss_mesh is None:
            self.collect(self.last_step)
            self.read_losses()  # a run stopped between two logging steps; ranks may not meet again to reduce
        super().close()
        if self.is_rank_zero:
            if self.steps_trained == 0:
                logger.info(self.nothing_trained())
            logger.info(self.summary())

    def interruption(self) -> str:
        """Where the run stopped when interrupted, and how it resumes."""
        where = f"interrupted at step {self.last_step} of {self.run.training_steps}"
        saved = saved_steps(self.run.checkpoint_folder) if self.run.checkpoint_folder else {}
        if not saved:
            return f"{where}; no checkpoint was saved, so a rerun starts over"
        last = max(saved)
        return f"{where}; its last checkpoint is step {last} ({saved[last]}): {resume_command()} continues from it"

    def records(self) -> list[dict]:
        path = self.metrics_file.path
        return read_metrics_file(path) if path is not None and path.is_file() else []

    def nothing_trained(self) -> str:
        """Why a run ended without a step: it had already reached training.steps."""
        steps, last = self.run.training_steps, max((r["step"] for r in self.records()), default=0)
        if last < steps:
            return "No training step ran."
        return (f"The run in {self.run.dump_folder} is complete (step {last} of training.steps={steps}): "
                f"nothing left to train. Raise --training.steps to train on, or give another "
                f"{self.run.dump_folder_setting} to start over.")

    def summary(self) -> str:
        """The whole run (earlier sessions of a resumed run included) in a few lines: what it
        loaded, its validation losses, where its records are, what to run next."""
        dump_folder = self.run.dump_folder
        lines = [f"metrics: {dump_folder / METRICS_FILE}"]
        if self.run.loaded is not None:
            lines.insert(0, f"loaded: {self.run.loaded}")
        validations = {r["step"]: r for r in self.records() if "val_loss" in r}
        if validations:
            last = validations[max(validations)]
            best = min(validations.values(), key=lambda record: record["val_loss"])
            exact = f" (exact {last['val_loss_exact']:.4f})" if "val_loss_exact" in last else ""
            lines.insert(0, f"val loss: final {last['val_loss']:.4f} at step {last['step']}{exact}, "
                            f"best {best['val_loss']:.4f} at step {best['step']}")
        if self.run.checkpoint_folder is not None and saved_steps(self.run.checkpoint_folder):
            lines += [f"checkpoints: {self.run.checkpoint_folder}", f"sample the model: nanogpt-titan sample {dump_folder}"]
        return "Run summary:\n  " + "\n  ".join(lines)
