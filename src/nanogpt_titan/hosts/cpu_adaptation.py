"""torchtitan on a machine without CUDA, the same rebinding in 0.2 and 0.3 (their modules bind the
same names): in torchtitan's modules, never in its files, what it assumes of an accelerator
(`nanogpt_titan.cpu`):

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
import warnings

import torch
import torchtitan.components.metrics as tt_metrics
import torchtitan.distributed.parallel_dims as tt_parallel_dims
import torchtitan.distributed.utils as tt_dist_utils
import torchtitan.tools.utils as tt_utils

from nanogpt_titan.cpu import CPUMemoryMonitor, let_gloo_release_its_last_work, reference_peak_flops, set_pg_timeouts_gloo


def adapt_torchtitan_to_cpu() -> None:
    for module in (tt_utils, tt_dist_utils, tt_parallel_dims, tt_metrics):
        module.device_type = "cpu"
        if hasattr(module, "device_module"):
            module.device_module = torch.cpu
    tt_utils.get_peak_flops = reference_peak_flops
    tt_metrics.build_device_memory_monitor = functools.partial(CPUMemoryMonitor, tt_metrics.DeviceMemStats)
    tt_dist_utils.set_pg_timeouts = set_pg_timeouts_gloo
    atexit.register(let_gloo_release_its_last_work)
    warnings.filterwarnings("ignore", message=r"DTensor (random operators|manual_seed\(\)) may not have complete support",
                            category=UserWarning)
