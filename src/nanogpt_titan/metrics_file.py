"""`metrics.jsonl`, a run's record: one JSON object per training step (its keys: the host
adapter's metrics module, which writes it on rank 0)."""

import json
import logging
from pathlib import Path

from nanogpt_titan.errors import NanoGPTTitanError

METRICS_FILE = "metrics.jsonl"
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
