"""The dataloader on torchtitan 0.3.0: its `ParallelAwareDataloader` (torchdata's stateful loader)
over the run's training batches (`nanogpt_titan.hosts.data`)."""

from dataclasses import dataclass
from typing import Annotated

import torch
import tyro
from torchtitan.components.dataloader import ParallelAwareDataloader

from nanogpt_titan.hosts.data import DataPlan, training_batches
from nanogpt_titan.run import NanoGPTRun


class NanoGPTDataLoader(ParallelAwareDataloader):
    @dataclass(kw_only=True, slots=True)
    class Config(ParallelAwareDataloader.Config):
        dataset: str = "shakespeare_char_train"
        # Handed over by the trainer and its config.
        data: Annotated[DataPlan | None, tyro.conf.Suppress] = None
        run: Annotated[NanoGPTRun | None, tyro.conf.Suppress] = None

    def __init__(self, config: Config, *, dp_world_size: int, dp_rank: int, **kwargs):
        """The batch's shape is the run's (`config.data`), as 0.3 hands it over among the `kwargs`."""
        dataset = training_batches(config.data, config.run, dp_world_size, dp_rank)
        # The loader draws a base seed when it starts iterating: from a generator of its own, so that
        # the global one stays where the run's randomness leaves it.
        super().__init__(dataset, dp_rank, dp_world_size, batch_size=None, generator=torch.Generator())
