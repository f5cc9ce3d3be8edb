"""torchtitan's metrics, plus `metrics.jsonl`: one JSON object per training step.

Each line holds `step`, `loss`, `lr`, `grad_norm`, `tokens_per_second`, `mfu` (percent of the
device's peak, by nanoGPT's FLOP formula), `time_ms` (wall time of that step), and, on
validation steps, `val_loss`. The console and TensorBoard/W&B keep torchtitan's own cadence
(`metrics.log_freq`); the file gets every step.
"""

import json
import time
from pathlib import Path

import torch
from torchtitan.components.metrics import MetricsProcessor
from torchtitan.components.validate import BaseValidator
from torchtitan.config import JobConfig
from torchtitan.distributed import ParallelDims

METRICS_FILE = "metrics.jsonl"


def read_metrics_file(path: Path) -> list[dict]:
    """The records of a metrics.jsonl, in order."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


class NanoGPTMetricsProcessor(MetricsProcessor):
    def __init__(self, job_config: JobConfig, parallel_dims: ParallelDims, tag: str | None = None):
        super().__init__(job_config, parallel_dims, tag)
        self.metrics_path = Path(job_config.job.dump_folder) / METRICS_FILE
        self.writes_file = torch.distributed.get_rank() == 0
        self.pending_record: dict | None = None
        self.file_started = False
        self.step_clock = time.perf_counter()
        self.tokens_before_step = 0

    def should_log(self, step: int) -> bool:
        return True  # every step feeds metrics.jsonl; `log` keeps torchtitan's console cadence

    def validation_due(self, step: int) -> bool:
        return self.job_config.validation.enable and BaseValidator(self.job_config).should_validate(step)

    def log(self, step, global_avg_loss, global_max_loss, grad_norm, extra_metrics=None):
        now = time.perf_counter()
        step_seconds = now - self.step_clock
        tokens_per_second = (self.ntokens_since_last_log - self.tokens_before_step) / step_seconds
        record = {
            "step": step,
            "loss": global_avg_loss,
            "lr": (extra_metrics or {}).get("lr"),
            "grad_norm": grad_norm,
            "tokens_per_second": tokens_per_second,
            "mfu": 100 * self.num_flops_per_token * tokens_per_second / self.gpu_peak_flops,
            "time_ms": 1000 * step_seconds,
        }
        if MetricsProcessor.should_log(self, step):
            super().log(step, global_avg_loss, global_max_loss, grad_norm, extra_metrics)
        self.step_clock = now
        self.tokens_before_step = self.ntokens_since_last_log
        if self.validation_due(step):
            self.pending_record = record  # completed by log_validation for this step
        else:
            self._write(record)

    def log_validation(self, loss: float, step: int, extra_metrics=None):
        super().log_validation(loss, step, extra_metrics)
        record = self.pending_record if self.pending_record and self.pending_record["step"] == step else {"step": step}
        self.pending_record = None
        self._write({**record, "val_loss": loss, **(extra_metrics or {})})
        self.step_clock = time.perf_counter()
        self.tokens_before_step = self.ntokens_since_last_log

    def close(self):
        if self.pending_record is not None:
            self._write(self.pending_record)
            self.pending_record = None
        super().close()

    def _write(self, record: dict) -> None:
        if not self.writes_file:
            return
        if not self.file_started:
            self._start_file(first_step=record["step"])
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def _start_file(self, first_step: int) -> None:
        """Keep the records of earlier steps (a resumed run), drop those this run will redo."""
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        kept = []
        if self.metrics_path.exists():
            lines = self.metrics_path.read_text().splitlines()
            kept = [line for line in lines if line and json.loads(line)["step"] < first_step]
        partial = self.metrics_path.with_suffix(".jsonl.partial")
        partial.write_text("".join(line + "\n" for line in kept))
        partial.replace(self.metrics_path)
        self.file_started = True


def build_nanogpt_metrics_processor(
    job_config: JobConfig, parallel_dims: ParallelDims, model_args=None, tag: str | None = None
) -> NanoGPTMetricsProcessor:
    return NanoGPTMetricsProcessor(job_config, parallel_dims, tag)
