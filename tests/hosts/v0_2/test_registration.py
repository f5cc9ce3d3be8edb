"""The torchtitan plugin: the one module that changes torchtitan, and only when imported."""

import contextlib
import subprocess
import sys

import pytest
import torch
import torchtitan.distributed.utils as tt_dist_utils
from torchtitan.protocols.train_spec import get_train_spec

from nanogpt_titan.hosts.v0_2 import registration, train_spec

cpu_only = pytest.mark.skipif(torch.cuda.is_available(), reason="CPU-host accommodations apply without CUDA only")
LIBRARY_MODULES = [
    "nanogpt_titan",
    "nanogpt_titan.model",
    "nanogpt_titan.checkpoint",
    "nanogpt_titan.data.text",
    "nanogpt_titan.data.prepare",
    "nanogpt_titan.hosts.v0_2.dataloader",
    "nanogpt_titan.hosts.v0_2.tokenizer",
    "nanogpt_titan.generate",
    "nanogpt_titan.evaluate",
    "nanogpt_titan.compare",
    "nanogpt_titan.hosts.v0_2.train_spec",
    "nanogpt_titan.hosts.v0_2.metrics",
    "nanogpt_titan.hosts.v0_2.validate",
    "nanogpt_titan.cli",
]


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_library_modules_import_without_changing_torchtitan():
    observed = run_python(
        "import importlib, torchtitan.tools.utils as u, torchtitan.components.metrics as m\n"
        "import torchtitan.protocols.train_spec as ts\n"
        "before = (u.device_type, u.get_peak_flops, m.build_device_memory_monitor)\n"
        f"for name in {LIBRARY_MODULES!r}: importlib.import_module(name)\n"
        "print(before == (u.device_type, u.get_peak_flops, m.build_device_memory_monitor), sorted(ts._extra_train_specs))"
    )
    assert observed == "True []"


def test_importing_the_plugin_registers_the_train_spec_once():
    import importlib

    spec = get_train_spec(registration.TRAIN_SPEC_NAME)
    importlib.reload(registration)
    assert get_train_spec("nanogpt").model_cls is spec.model_cls is train_spec.NanoGPTTrainModel


@cpu_only
def test_cpu_training_is_fp32_even_when_bf16_is_configured():
    assert isinstance(tt_dist_utils.maybe_enable_amp(None, "bfloat16", "cpu"), contextlib.nullcontext)


def modules_imported_by(module: str, importtime_lines: list[str]) -> list[str]:
    """From `python -X importtime` output, which lists a module's imports just before it, indented deeper."""
    entries = [line.rsplit("|", 1)[1] for line in importtime_lines if line.startswith("import time:")]
    depths_and_names = [(len(entry) - len(entry.lstrip()), entry.strip()) for entry in entries]
    index = next(i for i, (_, name) in enumerate(depths_and_names) if name == module)
    depth, imported = depths_and_names[index][0], []
    for child_depth, name in reversed(depths_and_names[:index]):
        if child_depth <= depth:
            break
        imported.append(name)
    return imported


def test_the_interpreter_start_hook_imports_nothing_else():
    """nanogpt_titan.pth runs in every Python process of the environment: it loads the empty
    package and the guard, and the guard imports nothing (triton is looked for only when
    torchtitan imports its kernels). Its cost is measured in docs/performance.md."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True, timeout=120
    )
    lines = result.stderr.splitlines()
    assert modules_imported_by("nanogpt_titan.triton_guard", lines) == ["nanogpt_titan"]
    assert modules_imported_by("nanogpt_titan", lines) == []
