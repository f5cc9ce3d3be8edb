"""The torchtitan plugin: `[experimental] custom_import = "nanogpt_titan.plugin"` loads it.

This module is the only place where nanogpt_titan changes torchtitan. Importing it

- registers the `nanogpt` TrainSpec (`nanogpt_titan.train_spec`), and
- on a machine without CUDA, adapts torchtitan 0.2.2, which assumes an accelerator, by
  rebinding in torchtitan's modules (never in its files):
  - the device type (torchtitan falls back to "cuda" and binds that name at import in
    `tools.utils`, `distributed.utils`, `distributed.parallel_dims`, `components.metrics`);
  - `set_pg_timeouts`, whose barrier passes `device_ids`, which gloo rejects;
  - the device memory monitor, which asserts CUDA: peak RSS stands in for device memory;
  - the peak-FLOPs lookup, which shells out to `lspci`: a CPU run reports MFU against the
    A100 bf16 peak (312 TFLOP/s), exactly as nanoGPT's `estimate_mfu` does on any device;
  - bf16 autocast, which `training.mixed_precision_param = "bfloat16"` (torchtitan's default)
    would turn on for a single CPU process: slower and different numbers, so CPU runs stay fp32;
  - and, at exit, a moment for gloo's worker threads to release their last collective before
    the interpreter shuts down (`let_gloo_release_its_last_work`).

A user error (`NanoGPTTitanError`) that stops a run ends it with one line naming the bad value
and the fix, not a traceback. It also keeps two messages that are no news from greeting every run: torchdata's deprecation
of a call torchtitan's dataloader makes, and torchtitan's notice that it replaces torchrun's
default `TORCH_NCCL_ASYNC_ERROR_HANDLING=1` (a value set by the user is still reported).

The other CPU-only break, the triton import, must be handled before torchtitan is first
imported: `nanogpt_titan.triton_guard`, loaded at interpreter start by `nanogpt_titan.pth`.
"""

import atexit
import contextlib
import os
import resource
import sys
import time
import warnings
from datetime import timedelta

import torch
import torchtitan.components.metrics as tt_metrics
import torchtitan.distributed.parallel_dims as tt_parallel_dims
import torchtitan.distributed.utils as tt_dist_utils
import torchtitan.tools.utils as tt_utils
from torchtitan.protocols.train_spec import register_train_spec
from torchtitan.tools.logging import logger

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.train_spec import get_train_spec

TRAIN_SPEC_NAME = "nanogpt"
TORCHRUN_NCCL_DEFAULT = ("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")
NANOGPT_REFERENCE_PEAK_FLOPS = 312e12
"""A100 bf16 dense peak: the denominator nanoGPT's `estimate_mfu` uses on every device."""
GLOO_RELEASE_SECONDS = 0.05

_GIB = 1024**3


class CPUMemoryMonitor:
    """`DeviceMemoryMonitor` for the host: peak resident set size of this process."""

    device_name = "cpu"

    def __init__(self):
        self.device = torch.device("cpu")
        self.device_capacity_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / _GIB

    def get_peak_stats(self) -> tt_metrics.DeviceMemStats:
        peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / _GIB
        peak_pct = 100 * peak_gib / self.device_capacity_gib
        return tt_metrics.DeviceMemStats(peak_gib, peak_pct, peak_gib, peak_pct, 0, 0)

    def reset_peak_stats(self) -> None:
        """The kernel keeps one peak RSS per process; it cannot be reset."""


# torch 2.14 made the private setter public (and deprecated the old name).
_set_pg_timeout = getattr(torch.distributed, "set_timeout", None) or torch.distributed.distributed_c10d._set_pg_timeout


def _set_pg_timeouts_gloo(timeout: timedelta, parallel_dims) -> None:
    torch.distributed.barrier()
    groups = [mesh.get_group() for mesh in parallel_dims.get_all_one_dimensional_meshes().values()]
    for group in [*groups, None]:
        _set_pg_timeout(timeout, group)


def _fp32_on_cpu(parallel_dims, mixed_precision_param: str, device_type: str):
    if mixed_precision_param != "float32":
        logger.info(
            f"training.mixed_precision_param={mixed_precision_param!r} ignored on CPU: "
            "CPU runs train in float32, as nanoGPT does."
        )
    return contextlib.nullcontext()


def let_gloo_release_its_last_work() -> None:
    """atexit: hand the GIL over for a moment before the interpreter shuts down.

    gloo's worker thread frees a finished collective's tensors after the caller has returned,
    and that takes the GIL. While a device mesh is alive (torchtitan keeps its meshes to the
    end), `destroy_process_group` leaves that thread running, so a rank that exits right after
    its last collective (every rank but torchtitan's rank 0, which sleeps 2 s) can begin
    shutting down first: the thread then dies taking the GIL and the process aborts
    ("terminate called without an active exception") after a successful run.
    """
    time.sleep(GLOO_RELEASE_SECONDS)


def report_user_errors_in_one_line(error_type, error, traceback, report_others=sys.excepthook) -> None:
    """`sys.excepthook`: a user error is one line; any other exception keeps its traceback."""
    if isinstance(error, NanoGPTTitanError):
        print(f"nanogpt_titan: error: {error}", file=sys.stderr)
    else:
        report_others(error_type, error, traceback)


def adapt_torchtitan_to_cpu() -> None:
    """Rebind torchtitan's device assumptions for a machine without CUDA (see the module doc)."""
    for module in (tt_utils, tt_dist_utils, tt_parallel_dims, tt_metrics):
        module.device_type = "cpu"
        if hasattr(module, "device_module"):
            module.device_module = torch.cpu
    tt_utils.get_peak_flops = lambda device_name: NANOGPT_REFERENCE_PEAK_FLOPS
    tt_metrics.build_device_memory_monitor = CPUMemoryMonitor
    tt_dist_utils.set_pg_timeouts = _set_pg_timeouts_gloo
    tt_dist_utils.maybe_enable_amp = _fp32_on_cpu
    atexit.register(let_gloo_release_its_last_work)


if not torch.cuda.is_available():
    adapt_torchtitan_to_cpu()
sys.excepthook = report_user_errors_in_one_line
warnings.filterwarnings("ignore", message="'set_vital' is deprecated", category=UserWarning)
if os.environ.get(TORCHRUN_NCCL_DEFAULT[0]) == TORCHRUN_NCCL_DEFAULT[1]:
    del os.environ[TORCHRUN_NCCL_DEFAULT[0]]  # torchtitan sets its own value when it starts the process group
try:
    register_train_spec(TRAIN_SPEC_NAME, get_train_spec())
except ValueError:
    pass  # registered by an earlier import of this module (importlib.reload runs it again)
