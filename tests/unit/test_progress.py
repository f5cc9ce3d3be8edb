"""Progress lines of long work."""

import pytest

from nanogpt_titan import progress as progress_module
from nanogpt_titan.progress import progress


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
    assert [line.split(" (")[0] for line in lines] == ["sample 1/1: 1/3 tokens", "sample 1/1: 2/3 tokens",
                                                       "sample 1/1: 3/3 tokens"]
    assert list(progress([], 0, "none", "tokens", report=lines.append)) == [] and len(lines) == 3


def test_lines_go_to_stderr_by_default(capsys):
    list(progress([1], 1, "one", "items"))
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("one: 1/1 items (100%) in ")
