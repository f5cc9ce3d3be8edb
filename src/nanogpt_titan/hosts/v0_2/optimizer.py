"""The TrainSpec's optimizer builder: nanoGPT's groups (`nanogpt_titan.optim`) by name, else torchtitan's own."""

import torch.nn as nn
from torchtitan.components.optimizer import OptimizersContainer, build_optimizers
from torchtitan.config import Optimizer as OptimizerConfig
from torchtitan.distributed import ParallelDims

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.optim import NanoGPTAdam, NanoGPTAdamW

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
        raise NanoGPTTitanError(f"optimizer.early_step_in_backward is not supported with {optimizer_config.name}")
    optimizer_kwargs = {
        "lr": optimizer_config.lr,
        "betas": (optimizer_config.beta1, optimizer_config.beta2),
        "eps": optimizer_config.eps,
        "weight_decay": optimizer_config.weight_decay,
        "fused": optimizer_config.implementation == "fused",
        "foreach": optimizer_config.implementation == "foreach",
    }
    return OptimizersContainer(model_parts, optimizer_cls, optimizer_kwargs)
