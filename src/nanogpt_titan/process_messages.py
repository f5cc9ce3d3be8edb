"""A training process's manners, whatever its host: what ends a run is said in one line (a user
error, with the value and the fix; an interruption, with where the run stopped and how to
resume; a collective that another rank never joined), a Ctrl-C is never lost, and two messages
that are no news do not greet every run (torchdata's deprecation of a call torchtitan's
dataloader makes; torchtitan's notice that it replaces torchrun's default
`TORCH_NCCL_ASYNC_ERROR_HANDLING=1`, while a value the user set is still reported). Anything else
keeps its traceback: it is a bug."""

import functools
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable

from nanogpt_titan.errors import NanoGPTTitanError

TORCHRUN_NCCL_DEFAULT = ("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")
RESUME_VARIABLE = "NANOGPT_TITAN_RESUME"  # the command that resumes a run, set by the command that launched it
# What a collective says when another rank left the job or never joined it (gloo's, NCCL's).
ABANDONED_COLLECTIVE = ("Timed out", "timed out", "Connection closed by peer", "Connection reset by peer", "Watchdog")


def _rank() -> int:
    return int(os.environ.get("RANK", 0))


def one_line(error: BaseException, interruption: Callable[[], str] | None) -> str | None:
    """What ends the run, in one line; None for a bug, which keeps its traceback."""
    who = f"nanogpt_titan (rank {_rank()})" if int(os.environ.get("WORLD_SIZE", 1)) > 1 else "nanogpt_titan"
    if isinstance(error, NanoGPTTitanError):
        return f"{who}: error: {error}"
    if _is_interruption(error):
        return f"{who}: {interruption() if interruption else 'interrupted'}"
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, RuntimeError) and any(sign in first_line for sign in ABANDONED_COLLECTIVE):
        return (
            f"{who}: error: a collective waited for a rank that left or never joined it ({first_line[:200]}); "
            "the other ranks' output says why"
        )
    return None


def _is_interruption(error: BaseException) -> bool:
    """Ctrl-C, also where a checkpoint's writer caught it and raised its failures by rank instead
    (DCP's `CheckpointException`: rank -> (exception, stack))."""
    failures = getattr(error, "failures", None)
    if isinstance(failures, dict):
        return any(isinstance(failure[0], KeyboardInterrupt) for failure in failures.values())
    return isinstance(error, KeyboardInterrupt)


def interrupt_again_if_dropped(unraisable) -> None:
    """`sys.unraisablehook`: Python drops an exception raised inside a finalizer (a `__del__` that
    the garbage collector runs; torchtitan collects garbage after each checkpoint), so a Ctrl-C
    landing there would leave the run training on. Such a KeyboardInterrupt is sent again, a moment
    later from another thread, to land where it ends the run (if it lands in a finalizer again,
    again); anything else is reported as Python does."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)
        return
    again = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    again.daemon = True
    again.start()


def report_in_one_line(error_type, error, traceback, interruption: Callable[[], str] | None = None) -> None:
    """`sys.excepthook`: `one_line`, else the traceback. The line goes to the process's own
    stderr, past the rank prefix torch's process group puts on every line of a traceback."""
    line = one_line(error, interruption)
    if line is None:
        sys.__excepthook__(error_type, error, traceback)
    else:
        print(line, file=sys.__stderr__, flush=True)


def resume_command() -> str:
    """What continues an interrupted run from its last checkpoint: the launcher's command, if it
    said (`nanogpt-titan train` does: nanoGPT's --init_from=resume), else the same command again."""
    return os.environ.get(RESUME_VARIABLE, "the same command")


def mind_the_process(interruption: Callable[[], str] | None = None) -> None:
    """Install the manners; a started run hands `interruption`, which says where it stopped."""
    sys.excepthook = functools.partial(report_in_one_line, interruption=interruption)
    sys.unraisablehook = interrupt_again_if_dropped
    warnings.filterwarnings("ignore", message="'set_vital' is deprecated", category=UserWarning)
    if os.environ.get(TORCHRUN_NCCL_DEFAULT[0]) == TORCHRUN_NCCL_DEFAULT[1]:
        del os.environ[TORCHRUN_NCCL_DEFAULT[0]]  # torchtitan sets its own value when it starts the process group
