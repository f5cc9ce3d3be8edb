"""Progress of long work, in lines that read as well in a terminal as in a log file."""

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")
REPORTS = 10  # a line at every tenth of the way


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Meter:
    """Work done towards `total`, reported at every tenth of it and at the end: how much is
    done, in what time, at what rate, and the time left. `scale` divides the amounts shown
    (1e6 with `unit="MB"` for bytes)."""

    def __init__(
        self, total: int, label: str, unit: str, report: Callable[[str], None] = to_stderr, scale: float = 1.0
    ):
        self.total, self.label, self.unit, self.report, self.scale = total, label, unit, report, scale
        self.done, self.start, self.every = 0, time.perf_counter(), max(1, total // REPORTS)
        self.next_report = self.every

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        if self.done < self.next_report and self.done < self.total:
            return
        self.next_report = (self.done // self.every + 1) * self.every
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else float("inf")
        left = f", {(self.total - self.done) / rate:.0f} s left" if self.done < self.total else ""
        self.report(
            f"{self.label}: {self._shown(self.done)}/{self._shown(self.total)} {self.unit} "
            f"({100 * self.done / self.total:.0f}%) in {elapsed:.1f} s, {rate / self.scale:,.1f} "
            f"{self.unit}/s{left}"
        )

    def _shown(self, amount: int) -> str:
        return f"{amount:,}" if self.scale == 1 else f"{amount / self.scale:,.1f}"


def progress(
    items: Iterable[Item], total: int, label: str, unit: str, report: Callable[[str], None] = to_stderr
) -> Iterator[Item]:
    """Pass `items` through a `Meter`; an item counts as done once the consumer asks for the next."""
    meter = Meter(total, label, unit, report)
    for item in items:
        yield item
        meter.advance()
