"""Let torchtitan import where triton is not installed (CPU wheels of torch, macOS).

`import torchtitan` reaches `torchtitan.models.moe.kernels`, whose first line is
`import triton`; the kernels there only serve mixture-of-experts models. When triton is
missing, this finder answers for that one module with a stand-in whose functions raise an
actionable error if a MoE model ever calls them. It never fakes `triton` itself: dynamo
would then treat the fake as real.

It is loaded at interpreter start by `nanogpt_titan.pth` (so `python -m torchtitan.train`
works) and again by `nanogpt_titan/__init__.py`; installing it twice is harmless. Only the
standard library is imported here, because this runs in every Python process.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import sys

KERNELS_MODULE = "torchtitan.models.moe.kernels"


def _needs_triton(*args, **kwargs):
    raise ImportError(
        f"{KERNELS_MODULE} needs triton, which is not installed: MoE models need "
        "`pip install triton` (nanoGPT never uses these kernels)."
    )


class _TritonFreeKernelsLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__all__ = ["generate_permute_indices", "fill_indices_wrapper"]
        module.generate_permute_indices = _needs_triton
        module.fill_indices_wrapper = _needs_triton


class TritonFreeKernelsFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != KERNELS_MODULE or importlib.util.find_spec("triton") is not None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _TritonFreeKernelsLoader())


if not any(isinstance(finder, TritonFreeKernelsFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, TritonFreeKernelsFinder())
