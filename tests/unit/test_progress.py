"""Progress lines of long work."""

import pytest

from nanogpt_titan import progress as progress_module
from nanogpt_titan.progress import Meter, progress


@pytest.fixture
def clock(monkeypatch):
    """perf_counter advancing 0.5 s per call, from 100."""
    ticks = iter(100 + 0.5 * n for n in range(10_000))
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(ticks))


def test_a_line_at_every_tenth_with_the_count_the_time_the_rate_and_the_time_left(clock):
    lines = []
    assert list(progress(range(30), 30, "exact", "batches", report=lines.append)) == list(range(30))
    assert len(lines) == 10
    assert lines[0] == "exact: 3/30 batches (10%) in 0.5 s, 6.0 batches/s, 4 s left"
    assert lines[-1] == "exact: 30/30 batches (100%) in 5.0 s, 6.0 batches/s"


def test_short_work_reports_every_item_and_nothing_when_there_is_none(clock):
    lines = []
    list(progress("abc", 3, "sample 1/1", "tokens", report=lines.append))
    assert [line.split(" (")[0] for line in lines] == [
        "sample 1/1: 1/3 tokens",
        "sample 1/1: 2/3 tokens",
        "sample 1/1: 3/3 tokens",
    ]
    assert list(progress([], 0, "none", "tokens", report=lines.append)) == [] and len(lines) == 3


def test_lines_go_to_stderr_by_default(capsys):
    list(progress([1], 1, "one", "items"))
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("one: 1/1 items (100%) in ")


def test_a_meter_advances_by_amounts_and_shows_them_scaled(clock):
    lines = []
    meter = Meter(4_000_000, "prepare", "MB", report=lines.append, scale=1e6)
    for amount in (1_500_000, 1_500_000, 1_000_000):  # past several tenths at once: one line, not one per tenth
        meter.advance(amount)
    assert lines == [
        "prepare: 1.5/4.0 MB (38%) in 0.5 s, 3.0 MB/s, 1 s left",
        "prepare: 3.0/4.0 MB (75%) in 1.0 s, 3.0 MB/s, 0 s left",
        "prepare: 4.0/4.0 MB (100%) in 1.5 s, 2.7 MB/s",
    ]
