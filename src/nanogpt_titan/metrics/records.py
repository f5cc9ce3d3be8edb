"""`metrics.jsonl`, a run's record: one JSON object per training step, written by rank 0 as
torchtitan logs and read back by `compare`, the summary and the tests.

Every line holds `step`, `loss` (the mean over all data-parallel ranks) and `lr` (the rate
used at that step). Every `metrics.log_freq` steps, torchtitan's logging cadence, and at the
last step, the line also holds torchtitan's own measurements of the steps since the previous
log: `grad_norm`, `tokens_per_second_per_device` (torchtitan's tps),
`tokens_per_second_global` (over all data-parallel ranks), `mfu_per_device` (percent of one
device's peak by nanoGPT's FLOP formula; every device does the same work, so it is also the
run's) and `time_ms` (mean wall time per step). Validation steps add `val_loss` and
`train_loss_estimate`, and the run's last validation `val_loss_exact`.
"""

import json
import logging
from pathlib import Path
from typing import Any, Protocol

from nanogpt_titan.errors import NanoGPTTitanError

METRICS_FILE = "metrics.jsonl"
# The names torchtitan's metrics processor logs (on every host) -> metrics.jsonl's.
RECORDED = {
    "grad_norm": "grad_norm",
    "throughput(tps)": "tokens_per_second_per_device",
    "mfu(%)": "mfu_per_device",
    "validation_metrics/loss": "val_loss",
    "train_loss_estimate": "train_loss_estimate",
    "val_loss_exact": "val_loss_exact",
}
logger = logging.getLogger(__name__)


def read_metrics_file(path: Path) -> list[dict]:
    """The records of a metrics.jsonl, in order. A last line cut short by a kill is dropped."""
    lines = Path(path).read_text().splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(lines):
                raise NanoGPTTitanError(f"{path}: line {number} is not JSON: {line[:80]!r}") from None
            logger.warning(f"{path}: dropped its last line, cut short (the run was killed mid-write): {line[:80]!r}")
    return records


class RecordReader(Protocol):
    """What else reads the records as they are written (the run's W&B rows)."""

    def log(self, metrics: dict[str, Any], step: int) -> None: ...  # torchtitan's metrics of a step
    def add(self, record: dict[str, Any]) -> None: ...  # a step's complete record
    def close(self) -> None: ...


class MetricsFile:
    """metrics.jsonl, written as torchtitan logs (one more of its metric loggers): complete lines
    only, one per step, each also handed to `reader` when there is one. A step's line is written
    when a later step starts, so training and validation results of a step end up on one line
    whatever order torchtitan reports them in.

    A run that resumes keeps the earlier run's lines before its first step and rewrites the
    rest; a run that starts over at step 1 moves an earlier file aside, never discarding it.
    """

    def __init__(self, path: Path | None, data_parallel_ranks: int = 1, reader: RecordReader | None = None):
        self.path = path  # None on ranks other than 0: records are kept until complete, not written
        self.data_parallel_ranks = data_parallel_ranks
        self.reader = reader
        self.records: dict[int, dict[str, Any]] = {}
        self.started = False

    def update(self, step: int, **values) -> None:
        self.records.setdefault(step, {"step": step}).update(values)

    def log(self, metrics: dict[str, Any], step: int) -> None:
        if self.reader is not None:
            self.reader.log(metrics, step)
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
        if self.reader is not None:
            for record in records:
                self.reader.add(record)

    def written(self) -> list[dict]:
        """The records on disk so far (earlier sessions of a resumed run included)."""
        return read_metrics_file(self.path) if self.path is not None and self.path.is_file() else []

    def close(self) -> None:
        self.write_before(None)
        if self.reader is not None:
            self.reader.close()

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
