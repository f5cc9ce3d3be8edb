"""nanoGPT's optimizer groups: weight decay on matrices and embeddings, none on the rest."""

import torch
import torch.nn as nn
from torchtitan.components.optimizer import OptimizersContainer, build_optimizers
from torchtitan.config import Optimizer as OptimizerConfig
from torchtitan.distributed import ParallelDims
from torchtitan.tools.logging import logger

from nanogpt_titan.errors import NanoGPTTitanError


class NanoGPTParamGroupsMixin:
    """Split a flat parameter list as nanoGPT's `configure_optimizers` does.

    Trainable parameters with `dim() >= 2` (matmul weights, embeddings) form a group with
    the configured `weight_decay`; the rest (biases, LayerNorm weights) a group with none.
    The two groups are logged as nanoGPT prints them.
    """

    def __init__(self, params, *args, weight_decay: float = 0.0, **kwargs):
        params = list(params)
        if any(isinstance(p, dict) for p in params):
            raise TypeError(
                f"{type(self).__name__} makes its own parameter groups; pass a flat list of parameters"
            )
        trainable = [p for p in params if p.requires_grad]
        decayed, not_decayed = [p for p in trainable if p.dim() >= 2], [p for p in trainable if p.dim() < 2]
        for label, group in (("decayed", decayed), ("non-decayed", not_decayed)):
            logger.info(f"num {label} parameter tensors: {len(group)}, with {sum(p.numel() for p in group):,} parameters")
        groups = [{"params": decayed, "weight_decay": weight_decay}, {"params": not_decayed, "weight_decay": 0.0}]
        super().__init__([group for group in groups if group["params"]], *args, **kwargs)


class NanoGPTAdamW(NanoGPTParamGroupsMixin, torch.optim.AdamW):
    pass


class NanoGPTAdam(NanoGPTParamGroupsMixin, torch.optim.Adam):
    pass


NANOGPT_OPTIMIZERS = {"NanoGPTAdamW": NanoGPTAdamW, "NanoGPTAdam": NanoGPTAdam}
TORCHTITAN_OPTIMIZERS = ("AdamW", "Adam")  # what torchtitan's own builder makes (one group, decay on all)


def build_nanogpt_optimizers(
    model_parts: list[nn.Module],
    optimizer_config: OptimizerConfig,
    parallel_dims: ParallelDims,
    ft_manager=None,
) -> OptimizersContainer:
    """The TrainSpec's optimizer builder: `NanoGPTAdamW` / `NanoGPTAdam`, else torchtitan's own."""
    optimizer_cls = NANOGPT_OPTIMIZERS.get(optimizer_config.name)
    if optimizer_cls is None and optimizer_config.name not in TORCHTITAN_OPTIMIZERS:
        raise NanoGPTTitanError(
            f"optimizer.name={optimizer_config.name!r} is none of {[*NANOGPT_OPTIMIZERS, *TORCHTITAN_OPTIMIZERS]} "
            "(NanoGPTAdamW is nanoGPT's)"
        )
    if optimizer_cls is None:
        return build_optimizers(model_parts, optimizer_config, parallel_dims, ft_manager)
    if optimizer_config.early_step_in_backward:
        raise NanoGPTTitanError(
            f"optimizer.early_step_in_backward is not supported with {optimizer_config.name}"
        )
    optimizer_kwargs = {
        "lr": optimizer_config.lr,
        "betas": (optimizer_config.beta1, optimizer_config.beta2),
        "eps": optimizer_config.eps,
        "weight_decay": optimizer_config.weight_decay,
        "fused": optimizer_config.implementation == "fused",
        "foreach": optimizer_config.implementation == "foreach",
    }
    return OptimizersContainer(model_parts, optimizer_cls, optimizer_kwargs)
