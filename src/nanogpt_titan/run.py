"""What the components of one training run share: made once per run by the host adapter and
handed to each component that needs it, never kept at module level."""

from dataclasses import dataclass, field

from nanogpt_titan.metrics.step_loss import StepLoss
from nanogpt_titan.randomness import Randomness


@dataclass
class NanoGPTRun:
    """The run's randomness (the model's initialisation, the dataloader and the validator draw
    through it) and the losses of the step in progress (the loss function adds them, the
    metrics processor takes them)."""

    randomness: Randomness
    step_loss: StepLoss = field(default_factory=StepLoss)
