"""nanoGPT's optimizer: `configure_optimizers`' two AdamW groups and `get_lr`'s schedule."""

import functools
import logging
import math
from collections.abc import Callable

import torch

from nanogpt_titan.errors import NanoGPTTitanError

logger = logging.getLogger(__name__)


def decays(parameter: torch.Tensor) -> bool:
    """nanoGPT's rule: weight decay on tensors of two or more dimensions (matmul weights,
    embeddings), none on the rest (biases, LayerNorm weights)."""
    return parameter.dim() >= 2


def log_param_groups(decayed: list[torch.Tensor], not_decayed: list[torch.Tensor]) -> None:
    """The two groups, as nanoGPT prints them."""
    for label, group in (("decayed", decayed), ("non-decayed", not_decayed)):
        logger.info(f"num {label} parameter tensors: {len(group)}, with {sum(p.numel() for p in group):,} parameters")


class NanoGPTParamGroupsMixin:
    """Split a flat parameter list as nanoGPT's `configure_optimizers` does.

    Trainable parameters that `decays` form a group with the configured `weight_decay`; the
    rest a group with none.
    """

    def __init__(self, params, *args, weight_decay: float = 0.0, **kwargs):
        params = list(params)
        if any(isinstance(p, dict) for p in params):
            raise TypeError(f"{type(self).__name__} makes its own parameter groups; pass a flat list of parameters")
        trainable = [p for p in params if p.requires_grad]
        decayed, not_decayed = [p for p in trainable if decays(p)], [p for p in trainable if not decays(p)]
        log_param_groups(decayed, not_decayed)
        groups = [{"params": decayed, "weight_decay": weight_decay}, {"params": not_decayed, "weight_decay": 0.0}]
        super().__init__([group for group in groups if group["params"]], *args, **kwargs)


class NanoGPTAdamW(NanoGPTParamGroupsMixin, torch.optim.AdamW):
    pass


class NanoGPTAdam(NanoGPTParamGroupsMixin, torch.optim.Adam):
    pass


def nanogpt_lr_factor(it: int, warmup_iters: int, lr_decay_iters: int, min_lr_factor: float) -> float:
    """nanoGPT's `get_lr(it) / learning_rate` for the 0-based iteration `it`.

    torchtitan's LambdaLR evaluates this at the number of steps already taken, so the
    learning rate used at torchtitan step s (1-based) is nanoGPT's `get_lr(s - 1)`.
    """
    if it < warmup_iters:
        return (it + 1) / (warmup_iters + 1)
    if it >= lr_decay_iters:  # nanoGPT's `>`: at lr_decay_iters its cosine is min_lr exactly, bar a horizon of 0
        return min_lr_factor
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr_factor + coeff * (1.0 - min_lr_factor)


def nanogpt_schedule(
    warmup_steps: int,
    total_steps: int | None,
    min_lr_factor: float,
    decay_type: str,
    decay_ratio: float | None,
    training_steps: int,
) -> Callable[[int], float]:
    """`nanogpt_lr_factor` from torchtitan's `lr_scheduler` settings, which must describe it:
    `warmup_steps` is warmup_iters, `total_steps` lr_decay_iters (a setting of its own, so that
    changing training.steps never moves it), `min_lr_factor` min_lr / learning_rate.

    Any warmup and horizon are nanoGPT's (a warmup longer than the horizon warms up, then holds
    min_lr), but for one: a horizon equal to the warmup, where `get_lr` divides zero by zero at
    that iteration, is refused if the run's `training_steps` reach it."""
    if total_steps is None:
        raise NanoGPTTitanError(
            "lr_scheduler.total_steps is not set: it is nanoGPT's lr_decay_iters, the step after "
            "which the LR stays at min_lr (the shakespeare-char config uses 5000)"
        )
    if total_steps == warmup_steps < training_steps:
        raise NanoGPTTitanError(
            f"lr_scheduler.total_steps={total_steps} equals lr_scheduler.warmup_steps (nanoGPT's lr_decay_iters and "
            f"warmup_iters): nanoGPT's get_lr divides zero by zero at iteration {warmup_steps}; set them apart"
        )
    if decay_type != "cosine" or decay_ratio is not None:
        raise NanoGPTTitanError(
            f"nanoGPT's schedule is a cosine decay over the whole horizon: set "
            f'lr_scheduler.decay_type = "cosine" (got {decay_type!r}) and leave '
            f"lr_scheduler.decay_ratio unset (got {decay_ratio})"
        )
    if not math.isfinite(min_lr_factor):
        raise NanoGPTTitanError(f"lr_scheduler.min_lr_factor={min_lr_factor} must be a finite number (min_lr / lr)")
    return functools.partial(
        nanogpt_lr_factor, warmup_iters=int(warmup_steps), lr_decay_iters=total_steps, min_lr_factor=min_lr_factor
    )
