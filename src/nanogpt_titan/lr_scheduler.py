"""nanoGPT's learning-rate schedule (`get_lr`) as a torchtitan LR scheduler.

TOML keys, in torchtitan's names:
  lr_scheduler.warmup_steps  = nanoGPT's warmup_iters
  lr_scheduler.total_steps   = nanoGPT's lr_decay_iters (required: the decay horizon is a
                               setting of its own, so changing training.steps never moves it)
  lr_scheduler.min_lr_factor = nanoGPT's min_lr / learning_rate
  lr_scheduler.decay_type    = "cosine" (the only shape nanoGPT has)
"""

import functools
import math

from torchtitan.components.lr_scheduler import LRSchedulersContainer
from torchtitan.components.optimizer import OptimizersContainer
from torchtitan.config import LRScheduler as LRSchedulerConfig

from nanogpt_titan.errors import NanoGPTTitanError


def nanogpt_lr_factor(it: int, warmup_iters: int, lr_decay_iters: int, min_lr_factor: float) -> float:
    """nanoGPT's `get_lr(it) / learning_rate` for the 0-based iteration `it`.

    torchtitan's LambdaLR evaluates this at the number of steps already taken, so the
    learning rate used at torchtitan step s (1-based) is nanoGPT's `get_lr(s - 1)`.
    """
    if it < warmup_iters:
        return (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr_factor
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr_factor + coeff * (1.0 - min_lr_factor)


def build_nanogpt_lr_schedulers(
    optimizers: OptimizersContainer, lr_scheduler_config: LRSchedulerConfig, training_steps: int
) -> LRSchedulersContainer:
    """The TrainSpec's LR scheduler builder; `training_steps` deliberately plays no part."""
    config = lr_scheduler_config
    if config.total_steps is None:
        raise NanoGPTTitanError(
            "lr_scheduler.total_steps is not set: it is nanoGPT's lr_decay_iters, the step after "
            "which the LR stays at min_lr (the shakespeare-char config uses 5000)"
        )
    if config.total_steps <= config.warmup_steps:
        raise NanoGPTTitanError(
            f"lr_scheduler.total_steps={config.total_steps} (lr_decay_iters) must exceed "
            f"lr_scheduler.warmup_steps={config.warmup_steps} (warmup_iters)"
        )
    if config.decay_type != "cosine" or config.decay_ratio is not None:
        raise NanoGPTTitanError(
            f"nanoGPT's schedule is a cosine decay over the whole horizon: set "
            f'lr_scheduler.decay_type = "cosine" (got {config.decay_type!r}) and leave '
            f"lr_scheduler.decay_ratio unset (got {config.decay_ratio})"
        )
    if not 0.0 <= config.min_lr_factor <= 1.0:
        raise NanoGPTTitanError(f"lr_scheduler.min_lr_factor={config.min_lr_factor} must be in [0, 1]")
    lr_factor = functools.partial(
        nanogpt_lr_factor,
        warmup_iters=int(config.warmup_steps),
        lr_decay_iters=config.total_steps,
        min_lr_factor=config.min_lr_factor,
    )
    return LRSchedulersContainer(optimizers, lr_factor)
