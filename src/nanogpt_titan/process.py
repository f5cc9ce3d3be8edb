"""A training process's manners, whatever its host: a user error ends the run in one line, and
two messages that are no news do not greet every run (torchdata's deprecation of a call
torchtitan's dataloader makes; torchtitan's notice that it replaces torchrun's default
`TORCH_NCCL_ASYNC_ERROR_HANDLING=1`, while a value the user set is still reported)."""

import os
import sys
import warnings

from nanogpt_titan.errors import NanoGPTTitanError

TORCHRUN_NCCL_DEFAULT = ("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")


def report_user_errors_in_one_line(error_type, error, traceback, report_others=sys.excepthook) -> None:
    """`sys.excepthook`: a user error is one line; any other exception keeps its traceback."""
    if isinstance(error, NanoGPTTitanError):
        print(f"nanogpt_titan: error: {error}", file=sys.stderr)
    else:
        report_others(error_type, error, traceback)


def prepare_training_process() -> None:
    sys.excepthook = report_user_errors_in_one_line
    warnings.filterwarnings("ignore", message="'set_vital' is deprecated", category=UserWarning)
    if os.environ.get(TORCHRUN_NCCL_DEFAULT[0]) == TORCHRUN_NCCL_DEFAULT[1]:
        del os.environ[TORCHRUN_NCCL_DEFAULT[0]]  # torchtitan sets its own value when it starts the process group
