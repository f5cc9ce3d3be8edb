"""The TrainSpec's dataloader: the run's training batches (`nanogpt_titan.hosts.data`) of the data
that `training.dataset` and `training.dataset_path` name, for any number of ranks."""

import torch
from torchtitan.components.dataloader import ParallelAwareDataloader
from torchtitan.config import JobConfig

from nanogpt_titan.hosts.data import training_batches
from nanogpt_titan.hosts.v0_2.settings import data_plan, nanogpt_run
from nanogpt_titan.randomness import WithGenerators


def build_nanogpt_dataloader(
    dp_world_size: int, dp_rank: int, tokenizer, job_config: JobConfig, **kwargs
) -> ParallelAwareDataloader:
    """The TrainSpec's dataloader builder, the first builder that knows the ranks."""
    dataset = training_batches(data_plan(job_config), nanogpt_run(job_config), dp_world_size, dp_rank)
    # The loader draws a base seed when it starts iterating: from a generator of its own, so that
    # the global one stays where the run's randomness leaves it. It asks for the dataset's state
    # when a checkpoint is saved: the process's generators are taken then.
    return ParallelAwareDataloader(
        WithGenerators(dataset), dp_rank, dp_world_size, batch_size=None, generator=torch.Generator()
    )
