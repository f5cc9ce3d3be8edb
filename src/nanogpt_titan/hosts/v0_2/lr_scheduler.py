"""nanoGPT's learning-rate schedule (`get_lr`) as a torchtitan LR scheduler.

TOML keys, in torchtitan's names:
  lr_scheduler.warmup_steps  = nanoGPT's warmup_iters
  lr_scheduler.total_steps   = nanoGPT's lr_decay_iters (required: the decay horizon is a
                               setting of its own, so changing training.steps never moves it)
  lr_scheduler.min_lr_factor = nanoGPT's min_lr / learning_rate
  lr_scheduler.decay_type    = "cosine" (the only shape nanoGPT has)
"""

from torchtitan.components.lr_scheduler import LRSchedulersContainer
from torchtitan.components.optimizer import OptimizersContainer
from torchtitan.config import LRScheduler as LRSchedulerConfig

from nanogpt_titan.optim import nanogpt_schedule


def build_nanogpt_lr_schedulers(
    optimizers: OptimizersContainer, lr_scheduler_config: LRSchedulerConfig, training_steps: int
) -> LRSchedulersContainer:
    """The TrainSpec's LR scheduler builder; `training_steps` moves nothing (it only tells whether
    the run reaches an iteration where nanoGPT's get_lr is undefined)."""
    config = lr_scheduler_config
    schedule = nanogpt_schedule(
        config.warmup_steps,
        config.total_steps,
        config.min_lr_factor,
        config.decay_type,
        config.decay_ratio,
        training_steps,
    )
    return LRSchedulersContainer(optimizers, schedule)
