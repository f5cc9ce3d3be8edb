"""What ends a training process is said in one line, except a bug."""

import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from torch.distributed.checkpoint.api import CheckpointException, _wrap_exception

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.process_messages import interrupt_again_if_dropped, one_line


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def _checkpoint_failure(error: BaseException) -> CheckpointException:
    """DCP's report of a save that `error` broke on rank 0."""
    return CheckpointException("save failed", {0: _wrap_exception(_raised(error))})


@pytest.mark.parametrize("world_size, who", [("1", "nanogpt_titan"), ("2", "nanogpt_titan (rank 1)")])
def test_a_user_error_is_its_message_naming_the_rank(monkeypatch, world_size, who):
    monkeypatch.setenv("WORLD_SIZE", world_size)
    monkeypatch.setenv("RANK", "1")
    assert one_line(NanoGPTTitanError("bad value 3: use 4"), None) == f"{who}: error: bad value 3: use 4"


@pytest.mark.parametrize("error", [KeyboardInterrupt(), _checkpoint_failure(KeyboardInterrupt())])
def test_an_interruption_says_where_the_run_stopped_even_inside_a_checkpoint_save(monkeypatch, error):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert one_line(error, lambda: "interrupted at step 7") == "nanogpt_titan: interrupted at step 7"
    assert one_line(error, None) == "nanogpt_titan: interrupted"


def test_a_collective_another_rank_left_is_one_line_pointing_at_the_others(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    line = one_line(RuntimeError("[gloo] Timed out waiting 300000ms for recv\nmore detail"), None)
    assert line == (
        "nanogpt_titan (rank 0): error: a collective waited for a rank that left or never joined it "
        "([gloo] Timed out waiting 300000ms for recv); the other ranks' output says why"
    )


@pytest.mark.parametrize(
    "error", [RuntimeError("shape mismatch"), ValueError(""), _checkpoint_failure(OSError("disk full"))]
)
def test_a_bug_keeps_its_traceback(error):
    assert one_line(error, None) is None


def test_a_ctrl_c_that_lands_in_a_finalizer_still_ends_the_run():
    """Python drops an exception raised inside a finalizer (`Exception ignored in ...`); torchtitan
    collects garbage after each checkpoint, so a Ctrl-C landing there used to leave the run training
    on. Here it lands in a `__del__` that is running when the signal comes: the run still stops,
    in one line, long before its loop would end."""
    code = """
import os, signal, threading, time
from nanogpt_titan.process_messages import mind_the_process
mind_the_process(lambda: "interrupted at the loop")
class Finalized:
    def __del__(self):
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:  # Python code, where the signal's handler runs
            pass
Finalized()
print("the finalizer let the run go on", flush=True)
time.sleep(20)
"""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 15, result.stdout + result.stderr
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == "nanogpt_titan: interrupted at the loop"


def test_another_exception_a_finalizer_drops_is_reported_as_python_does(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "__unraisablehook__", reported.append)
    unraisable = SimpleNamespace(exc_value=ValueError("in __del__"))
    interrupt_again_if_dropped(unraisable)
    assert reported == [unraisable]
