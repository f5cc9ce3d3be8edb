"""Let torchtitan import where triton is not installed (CPU wheels of torch, macOS).

`import torchtitan` reaches `torchtitan.models.moe.kernels`, whose first line is
`import triton`; the kernels there only serve mixture-of-experts models. When triton is
missing, this finder answers for that one module with a stand-in whose functions raise an
actionable error if a MoE model ever calls them. It never fakes `triton` itself: dynamo
would then treat the fake as real.

`nanogpt_titan.pth` imports this module (and the package's empty `__init__`) at interpreter start, so that `torchrun -m
torchtitan.train` works before our plugin is loaded. It therefore runs in every Python process
of the environment: installing it imports nothing (duck-typed finder and loader, no
importlib.abc), and the search for triton happens only when torchtitan asks for its kernels.
"""

import sys

KERNELS_MODULE = "torchtitan.models.moe.kernels"


def _needs_triton(*args, **kwargs):
    raise ImportError(
        f"{KERNELS_MODULE} needs triton, which is not installed: MoE models need "
        "`pip install triton` (nanoGPT never uses these kernels)."
    )


class _TritonFreeKernelsLoader:
    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        module.__all__ = ["generate_permute_indices", "fill_indices_wrapper"]
        module.generate_permute_indices = _needs_triton
        module.fill_indices_wrapper = _needs_triton


class TritonFreeKernelsFinder:
    """A `sys.meta_path` finder for the one module that needs triton, when triton is absent."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != KERNELS_MODULE:
            return None
        import importlib.util

        if importlib.util.find_spec("triton") is not None:
            return None  # triton is installed: the real kernels import
        return importlib.util.spec_from_loader(fullname, _TritonFreeKernelsLoader())


if not any(isinstance(finder, TritonFreeKernelsFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, TritonFreeKernelsFinder())
