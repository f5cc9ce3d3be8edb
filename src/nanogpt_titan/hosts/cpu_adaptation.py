"""torchtitan on a machine without CUDA, the same rebinding in 0.2 and 0.3 (their modules bind the
same names): in torchtitan's modules, never in its files, what it assumes of an accelerator:

- the device type, which torchtitan falls back to "cuda" and binds at import in
  `tools.utils`, `distributed.utils`, `distributed.parallel_dims`, `components.metrics`;
- the device memory monitor, which asserts CUDA: peak RSS stands in for device memory;
- the peak-FLOPs lookup, which shells out to `lspci`: MFU against nanoGPT's reference peak;
- `set_pg_timeouts`, whose barrier passes `device_ids`, which gloo rejects;
- and, at exit, a moment for gloo's worker threads to release their last collective before
  the interpreter shuts down (`let_gloo_release_its_last_work`).

DTensor's notes that its random operators may not fully support a CPU mesh are silenced: the
model draws no random numbers through DTensor (its sharded initial weights are drawn whole).
"""

import atexit
import functools
import os
import resource
import time
import warnings
from datetime import timedelta

import torch
import torchtitan.components.metrics as tt_metrics
import torchtitan.distributed.parallel_dims as tt_parallel_dims
import torchtitan.distributed.utils as tt_dist_utils
import torchtitan.tools.utils as tt_utils

NANOGPT_REFERENCE_PEAK_FLOPS = 312e12
"""A100 bf16 dense peak: the denominator nanoGPT's `estimate_mfu` uses on every device."""
GLOO_RELEASE_SECONDS = 0.05

_GIB = 1024**3


class CPUMemoryMonitor:
    """torchtitan's `DeviceMemoryMonitor` for the host: peak resident set size of this process,
    reported as the host's `stats_type` (its `DeviceMemStats`)."""

    device_name = "cpu"

    def __init__(self, stats_type: type):
        self.stats_type = stats_type
        self.device = torch.device("cpu")
        self.device_capacity_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / _GIB

    def get_peak_stats(self):
        peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / _GIB
        peak_pct = 100 * peak_gib / self.device_capacity_gib
        return self.stats_type(peak_gib, peak_pct, peak_gib, peak_pct, 0, 0)

    def reset_peak_stats(self) -> None:
        """The kernel keeps one peak RSS per process; it cannot be reset."""


def reference_peak_flops(device_name: str) -> float:
    """torchtitan's peak-FLOPs lookup shells out to `lspci`: a CPU run reports MFU against the
    A100 bf16 peak, exactly as nanoGPT's `estimate_mfu` does on any device."""
    return NANOGPT_REFERENCE_PEAK_FLOPS


# torch 2.14 made the private setter public (and deprecated the old name).
_set_pg_timeout = getattr(torch.distributed, "set_timeout", None) or torch.distributed.distributed_c10d._set_pg_timeout


def set_pg_timeouts_gloo(timeout: timedelta, parallel_dims) -> None:
    """torchtitan's `set_pg_timeouts`, whose barrier passes `device_ids`, which gloo rejects."""
    torch.distributed.barrier()
    groups = [mesh.get_group() for mesh in parallel_dims.get_all_one_dimensional_meshes().values()]
    for group in [*groups, None]:
        _set_pg_timeout(timeout, group)


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


def adapt_torchtitan_to_cpu() -> None:
    for module in (tt_utils, tt_dist_utils, tt_parallel_dims, tt_metrics):
        module.device_type = "cpu"
        if hasattr(module, "device_module"):
            module.device_module = torch.cpu
    tt_utils.get_peak_flops = reference_peak_flops
    tt_metrics.build_device_memory_monitor = functools.partial(CPUMemoryMonitor, tt_metrics.DeviceMemStats)
    tt_dist_utils.set_pg_timeouts = set_pg_timeouts_gloo
    atexit.register(let_gloo_release_its_last_work)
    warnings.filterwarnings(
        "ignore",
        message=r"DTensor (random operators|manual_seed\(\)) may not have complete support",
        category=UserWarning,
    )
