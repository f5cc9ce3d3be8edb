import contextlib

import pytest
import torch
import torchtitan.components.metrics as tt_metrics
import torchtitan.distributed.parallel_dims as tt_parallel_dims
import torchtitan.distributed.utils as tt_dist_utils
import torchtitan.tools.utils as tt_utils

import nanogpt_titan  # noqa: F401  (installs the CPU host on import)
from nanogpt_titan import cpu_host

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="CPU-host accommodations apply without CUDA only")


def test_every_torchtitan_binding_of_the_device_type_is_cpu():
    for module in (tt_utils, tt_dist_utils, tt_parallel_dims, tt_metrics):
        assert module.device_type == "cpu", module.__name__
    assert tt_utils.device_module is torch.cpu and tt_dist_utils.device_module is torch.cpu


def test_cpu_training_is_fp32_even_when_bf16_is_configured():
    amp = tt_dist_utils.maybe_enable_amp(None, "bfloat16", "cpu")
    assert isinstance(amp, contextlib.nullcontext)


def test_memory_monitor_and_peak_flops_need_no_gpu():
    monitor = tt_metrics.build_device_memory_monitor()
    stats = monitor.get_peak_stats()
    assert 0 < stats.max_reserved_gib < monitor.device_capacity_gib
    assert tt_utils.get_peak_flops(monitor.device_name) == cpu_host.NANOGPT_REFERENCE_PEAK_FLOPS == 312e12


def test_install_is_idempotent():
    assert cpu_host.install() is True
    assert cpu_host.install() is True
    assert tt_utils.device_type == "cpu"


def test_torchtitan_imports_without_triton_in_a_fresh_interpreter():
    import subprocess
    import sys

    code = "import importlib.util, torchtitan.models.moe.kernels as k; print(importlib.util.find_spec('triton'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"
