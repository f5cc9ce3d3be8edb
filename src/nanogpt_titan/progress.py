"""Progress of long work, in lines that read as well in a terminal as in a log file."""

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")
REPORTS = 10  # a line at every tenth of the way


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def progress(items: Iterable[Item], total: int, label: str, unit: str,
             report: Callable[[str], None] = to_stderr) -> Iterator[Item]:
    """Pass `items` through, reporting at every tenth of `total` items, and at the last, how
    many are done, in what time, at what rate, and the time left. An item counts as done once
    the consumer asks for the next one."""
    start, every = time.perf_counter(), max(1, total // REPORTS)
    for done, item in enumerate(items, start=1):
        yield item
        if done % every and done != total:
            continue
        elapsed = time.perf_counter() - start
        rate = done / elapsed if elapsed > 0 else float("inf")
        left = f", {(total - done) / rate:.0f} s left" if done < total else ""
        report(f"{label}: {done:,}/{total:,} {unit} ({100 * done / total:.0f}%) in {elapsed:.1f} s, "
               f"{rate:,.1f} {unit}/s{left}")
