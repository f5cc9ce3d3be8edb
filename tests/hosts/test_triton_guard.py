"""torchtitan imports without triton (CPU wheels of torch): the installed host's MoE kernel
module is answered by `nanogpt_titan.triton_guard`, loaded at interpreter start."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from nanogpt_titan.triton_guard import KERNELS_MODULES

TORCHTITAN = Path(next(iter(importlib.util.find_spec("torchtitan").submodule_search_locations)))
# The kernel module the installed host's trainer imports: the guard's, which this torchtitan has.
(KERNELS,) = [
    module for module in KERNELS_MODULES if TORCHTITAN.joinpath(*module.split(".")[1:]).with_suffix(".py").is_file()
]
# Run first in a fresh interpreter (after the .pth installed the guard): the path finder no
# longer finds triton, as on a CPU wheel of torch, wherever triton is installed.
WITHOUT_TRITON = (
    "import importlib.machinery as m, sys\n"
    "class PathFinderWithoutTriton:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        return None if name.partition('.')[0] == 'triton' else m.PathFinder.find_spec(name, path, target)\n"
    "    def find_distributions(self, *args, **kwargs):\n"
    "        return m.PathFinder.find_distributions(*args, **kwargs)\n"
    "sys.meta_path = [PathFinderWithoutTriton() if f is m.PathFinder else f for f in sys.meta_path]\n"
)


def kernels_and_triton() -> str:
    """Code that imports the host's trainer, then prints where its kernel functions come from."""
    module = KERNELS
    return (
        f"import importlib.util, torchtitan.train, {module} as k\n"
        f"print(k.{KERNELS_MODULES[module][0]}.__module__, importlib.util.find_spec('triton') is not None)"
    )


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_trainer_imports_without_triton_in_a_fresh_interpreter():
    assert run_python(WITHOUT_TRITON + kernels_and_triton()) == "nanogpt_titan.triton_guard False"


def test_a_moe_kernel_called_without_triton_says_what_to_install():
    module = KERNELS
    code = WITHOUT_TRITON + (
        f"import {module} as k\ntry:\n    k.{KERNELS_MODULES[module][0]}()\n"
        "except ImportError as error:\n    print(error)"
    )
    assert run_python(code) == (
        f"{module} needs triton, which is not installed: MoE models need `pip install "
        "triton` (nanoGPT never uses these kernels)."
    )


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed here (a CPU wheel)")
def test_where_triton_is_installed_torchtitan_imports_its_real_kernels():
    assert run_python(kernels_and_triton()) == f"{KERNELS} True"
