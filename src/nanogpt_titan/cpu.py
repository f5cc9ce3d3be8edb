"""What torchtitan lacks on a machine without CUDA, whatever its release: a host memory
monitor, MFU against nanoGPT's reference peak, process-group timeouts that gloo accepts, and a
clean exit for gloo's worker threads. Each host adapter binds these into its torchtitan."""

import os
import resource
import time
from datetime import timedelta

import torch

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
