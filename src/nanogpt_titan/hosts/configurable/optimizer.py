"""nanoGPT's optimizer as torchtitan 0.3 components: `configure_optimizers`' two groups (weight
decay on the matrices and embeddings, none on the rest) as the container's parameter groups,
and `get_lr` as its LR schedule."""

import re
from dataclasses import dataclass, replace
from typing import Literal

from torch import nn
from torchtitan.components.optimizer import LRSchedulersContainer, OptimizersContainer, ParamGroupConfig

from nanogpt_titan.optim import decays, log_param_groups, nanogpt_schedule


class NanoGPTOptimizers(OptimizersContainer):
    @dataclass(kw_only=True, slots=True)
    class Config(OptimizersContainer.Config):
        name: Literal["AdamW", "Adam"] = "AdamW"
        lr: float = 6e-4
        beta1: float = 0.9
        beta2: float = 0.95
        eps: float = 1e-8
        weight_decay: float = 0.1
        implementation: Literal["for-loop", "foreach", "fused"] = "foreach"

    def __init__(self, config: Config, *, model_parts: list[nn.Module]):
        parameters = [
            (name, parameter)
            for part in model_parts
            for name, parameter in part.named_parameters()
            if parameter.requires_grad
        ]
        decayed = [name for name, parameter in parameters if decays(parameter)]
        not_decayed = [name for name, parameter in parameters if not decays(parameter)]
        log_param_groups(
            [parameter for _, parameter in parameters if decays(parameter)],
            [parameter for _, parameter in parameters if not decays(parameter)],
        )
        settings = {"lr": config.lr, "betas": (config.beta1, config.beta2), "eps": config.eps}
        groups = [
            ParamGroupConfig(
                pattern=_exactly(names),
                optimizer_name=config.name,
                optimizer_kwargs={**settings, "weight_decay": weight_decay},
            )
            for names, weight_decay in ((decayed, config.weight_decay), (not_decayed, 0.0))
            if names
        ]
        super().__init__(replace(config, param_groups=groups), model_parts=model_parts)


def _exactly(names: list[str]) -> str:
    """A pattern that matches these parameter names and no other."""
    return "^(" + "|".join(re.escape(name) for name in names) + ")$"


class NanoGPTLRSchedulers(LRSchedulersContainer):
    """nanoGPT's `get_lr`: `warmup_steps` is warmup_iters, `total_steps` lr_decay_iters (never
    `training.steps`), `min_lr_factor` min_lr / learning_rate."""

    @dataclass(kw_only=True, slots=True)
    class Config(LRSchedulersContainer.Config):
        decay_type: Literal["linear", "sqrt", "cosine"] = "cosine"

        def build(self, *, optimizers: OptimizersContainer, training_steps: int) -> LRSchedulersContainer:
            schedule = nanogpt_schedule(
                self.warmup_steps,
                self.total_steps,
                self.min_lr_factor,
                self.decay_type,
                self.decay_ratio,
                training_steps,
            )
            return NanoGPTLRSchedulers(optimizers, schedule)
