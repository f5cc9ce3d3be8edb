"""The `nanogpt` TrainSpec's own setting in torchtitan 0.2.2's JobConfig, which a config adds
with `[job] custom_config_module = "nanogpt_titan.hosts.v0_2.job_config"` (the shipped configs do).

`debug.randomness` chooses how a run draws its random numbers (docs/randomness.md):

- "rank_invariant" (the default): numbered streams of windows per micro-batch, so that N ranks
  train exactly as one process accumulating their N micro-batches;
- "nanogpt": nanoGPT's own draws, from `torch.manual_seed(debug.seed + rank)`: its initial
  weights, and its batches in `train.py`'s order, so that a run is nanoGPT's run from the same
  seed (several ranks: DDP, each rank nanoGPT's rank).
"""

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class Debug:
    randomness: Literal["rank_invariant", "nanogpt"] = "rank_invariant"


@dataclass
class JobConfig:
    debug: Debug = field(default_factory=Debug)
