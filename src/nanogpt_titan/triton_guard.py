"""Let torchtitan import where triton is not installed (CPU wheels of torch, macOS).

torchtitan's trainer imports modules of triton kernels that only mixture-of-experts models use:
`torchtitan.models.moe.kernels` (0.2) and `torchtitan.distributed.minimal_async_ep.kernels`
(0.3), whose first lines are `import triton`. When triton is missing, this finder answers for
those modules with stand-ins whose functions raise an actionable error if a MoE model ever
calls them. It never fakes `triton` itself: dynamo would then treat the fake as real.

`nanogpt_titan.pth` imports this module (and the package's empty `__init__`) at interpreter start, so that `torchrun -m
torchtitan.train` works before our plugin is loaded. It therefore runs in every Python process
of the environment: installing it imports nothing (duck-typed finder and loader, no
importlib.abc), and the search for triton happens only when torchtitan asks for its kernels.
"""

import sys

# Each module of triton kernels that torchtitan's trainer imports, and the names it exports.
KERNELS_MODULES = {
    "torchtitan.models.moe.kernels": ("generate_permute_indices", "fill_indices_wrapper"),
    "torchtitan.distributed.minimal_async_ep.kernels": (
        "copy_full_counts_to_peers_kernel",
        "copy_rows_to_peers_kernel",
        "expand_topk_grad_kernel",
        "fill_combine_metadata_kernel",
        "fill_dispatch_metadata_kernel",
        "invert_flat_indices_kernel",
        "reduce_topk_slots_kernel",
        "topk_scores_grad_kernel",
    ),
}


def _needs_triton(module_name: str):
    def unavailable(*args, **kwargs):
        raise ImportError(
            f"{module_name} needs triton, which is not installed: MoE models need "
            "`pip install triton` (nanoGPT never uses these kernels)."
        )

    return unavailable


class _TritonFreeKernelsLoader:
    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        module.__all__ = list(KERNELS_MODULES[module.__name__])
        for name in module.__all__:
            setattr(module, name, _needs_triton(module.__name__))


class TritonFreeKernelsFinder:
    """A `sys.meta_path` finder for the modules that need triton, when triton is absent."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in KERNELS_MODULES:
            return None
        import importlib.util

        if importlib.util.find_spec("triton") is not None:
            return None  # triton is installed: the real kernels import
        return importlib.util.spec_from_loader(fullname, _TritonFreeKernelsLoader())


if not any(isinstance(finder, TritonFreeKernelsFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, TritonFreeKernelsFinder())
