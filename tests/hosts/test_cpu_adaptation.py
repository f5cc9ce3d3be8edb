"""The installed host's adaptation of torchtitan to a machine without CUDA, which its entry point
does when it prepares the training process (`nanogpt_titan.hosts.training_process`)."""

import atexit
import sys
import threading

import pytest
import torch
import torchtitan.components.metrics as tt_metrics
import torchtitan.distributed.parallel_dims as tt_parallel_dims
import torchtitan.distributed.utils as tt_dist_utils
import torchtitan.tools.utils as tt_utils

from nanogpt_titan.hosts import cpu_adaptation
from nanogpt_titan.hosts.cpu_adaptation import NANOGPT_REFERENCE_PEAK_FLOPS, let_gloo_release_its_last_work
from nanogpt_titan.hosts.training_process import prepare_training_process

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="CPU-host accommodations apply without CUDA only")


@pytest.fixture(scope="module")
def adaptation():
    """The training process prepared, as the installed host's entry point prepares it."""
    prepare_training_process()
    return cpu_adaptation


def test_every_torchtitan_binding_of_the_device_type_is_cpu(adaptation):
    for module in (tt_utils, tt_dist_utils, tt_parallel_dims, tt_metrics):
        assert module.device_type == "cpu", module.__name__
    assert tt_utils.device_module is torch.cpu and tt_dist_utils.device_module is torch.cpu


def test_memory_monitor_and_peak_flops_need_no_gpu(adaptation):
    monitor = tt_metrics.build_device_memory_monitor()
    stats = monitor.get_peak_stats()
    assert isinstance(stats, tt_metrics.DeviceMemStats)
    assert 0 < stats.max_reserved_gib < monitor.device_capacity_gib
    assert tt_utils.get_peak_flops(monitor.device_name) == NANOGPT_REFERENCE_PEAK_FLOPS == 312e12


def test_process_group_timeouts_skip_the_device_barrier_gloo_rejects(adaptation):
    from nanogpt_titan.hosts.cpu_adaptation import set_pg_timeouts_gloo

    assert tt_dist_utils.set_pg_timeouts is set_pg_timeouts_gloo


def test_cpu_adaptation_gives_gloo_its_moment_at_exit(adaptation, monkeypatch):
    registered = []
    monkeypatch.setattr(atexit, "register", registered.append)
    adaptation.adapt_torchtitan_to_cpu()
    assert registered == [let_gloo_release_its_last_work]


def test_exit_hook_hands_the_gil_to_a_thread_waiting_for_it():
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1000)  # this thread never hands the GIL over on its own
    start, ran = threading.Lock(), []
    start.acquire()
    waiting = threading.Thread(target=lambda: (start.acquire(), ran.append(True)))
    waiting.start()
    try:
        start.release()  # `waiting` now needs only the GIL, as gloo's worker thread at exit
        let_gloo_release_its_last_work()
        assert ran == [True]
    finally:
        sys.setswitchinterval(switch_interval)
        waiting.join()
