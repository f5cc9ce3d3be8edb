"""The run's records as torchtitan's metrics processor keeps them, on every host: each step's
loss and learning rate into `metrics.jsonl` (`nanogpt_titan.metrics.records`), nanoGPT's `iter`
lines, the W&B rows, the summary at the end. Each adapter mixes `RunRecords` into its host's
`MetricsProcessor` and tells it the run's facts.

Between two logging steps each step's loss stays on the device (the run's `StepLoss`, which the
adapter's loss function feeds): the host reads device values once per `log_freq` steps, never
waiting for the device in between. A run that draws as nanoGPT also logs nanoGPT's `iter` line
for each of its iterations that nanoGPT logs, with the loss nanoGPT prints there: the last
micro-batch's of the first rank.
"""

import time

import torch
from torchtitan.components.metrics import LoggerContainer
from torchtitan.tools.logging import logger

from nanogpt_titan.checkpoint.saved import saved_steps
from nanogpt_titan.checkpoint.write import write_description
from nanogpt_titan.hosts.wandb_rows import take_over_wandb
from nanogpt_titan.metrics.records import METRICS_FILE, MetricsFile
from nanogpt_titan.metrics.summary import RunFacts, interruption_note, nothing_trained_note, run_summary
from nanogpt_titan.process_messages import mind_the_process, resume_command
from nanogpt_titan.run import NanoGPTRun


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
            reader=take_over_wandb(self.logger, enable_wandb),
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
            logger.info(
                f"tps and mfu above are per device; over all {ranks} data-parallel ranks: "
                f"{round(global_rate):,} tokens/s"
            )

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
                logger.info(
                    f"iter {step - 1}: loss {loss:.4f}, time {logged['time_ms']:.2f}ms, "
                    f"mfu {logged.get('mfu_per_device', 0.0):.2f}%"
                )

    def close(self):
        if self.loss_mesh is None:
            self.collect(self.last_step)
            self.read_losses()  # a run stopped between two logging steps; ranks may not meet again to reduce
        super().close()
        if self.is_rank_zero:
            if self.steps_trained == 0:
                logger.info(nothing_trained_note(self.run, self.metrics_file.written()))
            logger.info(self.summary())

    def interruption(self) -> str:
        saved = saved_steps(self.run.checkpoint_folder) if self.run.checkpoint_folder else {}
        return interruption_note(self.last_step, self.run, saved, resume_command())

    def summary(self) -> str:
        saved = self.run.checkpoint_folder is not None and bool(saved_steps(self.run.checkpoint_folder))
        return run_summary(self.run, self.metrics_file.written(), saved)
