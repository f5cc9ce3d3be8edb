"""The TrainSpec's dataloader: random windows of the run's data (`training.dataset`,
`training.dataset_path`: `nanogpt_titan.data.datasets`), for any number of ranks."""

import torch
from torchtitan.components.dataloader import ParallelAwareDataloader
from torchtitan.config import JobConfig

from nanogpt_titan.data import datasets
from nanogpt_titan.data.datasets import DEFAULT_SEED, dataset_folder, dataset_split
from nanogpt_titan.data.folder import DataFolder, TokenFile
from nanogpt_titan.data.nanogpt_batches import NanoGPTBatchDataset, NanoGPTBatches
from nanogpt_titan.data.windows import RandomBlockTokenDataset, derived_seed
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.run_folder import RunFolder

SECTION = "training"  # where torchtitan 0.2 keeps dataset and dataset_path


def run_seed(job_config: JobConfig) -> int:
    """The run's seed: `debug.seed`, else nanoGPT's 1337."""
    return DEFAULT_SEED if job_config.debug.seed is None else job_config.debug.seed


def draws_as_nanogpt(job_config: JobConfig) -> bool:
    """`debug.randomness = "nanogpt"` (`nanogpt_titan.hosts.v0_2.job_config`; a config without that module
    has the default, "rank_invariant")."""
    return getattr(job_config.debug, "randomness", "rank_invariant") == "nanogpt"


def run_data(job_config: JobConfig) -> DataFolder:
    """The run's data folder, which `training.dataset_path` names (`nanogpt_titan.data.datasets`)."""
    return dataset_folder(job_config.training.dataset, job_config.training.dataset_path, SECTION)


def run_folder(job_config: JobConfig) -> RunFolder:
    """The run's dump folder and what decides what the run loads from it."""
    return RunFolder(job_config.job.dump_folder, job_config.checkpoint, job_config.model.hf_assets_path,
                     job_config.training.steps, job_config.training.dataset_path)


def split_tokens(job_config: JobConfig, dataset_name: str) -> TokenFile:
    """The run's split that `dataset_name` reads."""
    return run_data(job_config).split(dataset_split(dataset_name))


def accumulation_steps(job_config: JobConfig, dp_world_size: int) -> int:
    """Micro-batches per rank and step, as torchtitan's Trainer computes them."""
    training = job_config.training
    return datasets.accumulation_steps(training.local_batch_size, training.global_batch_size, dp_world_size)


def build_nanogpt_dataloader(
    dp_world_size: int,
    dp_rank: int,
    tokenizer,
    job_config: JobConfig,
    **kwargs,
) -> ParallelAwareDataloader:
    """The TrainSpec's dataloader builder: random windows, laid out so that any number of
    data-parallel ranks trains on what one process accumulating all micro-batches would.

    Each micro-batch of a step has its own stream: with A micro-batches per rank, rank r draws
    micro-batch a from stream r * A + a, which is micro-batch r * A + a of one process that
    accumulates all N * A. Rank 0 drops out units from where the model's initialisation left
    the global generator, as one process does; rank r > 0 from a stream of its own.
    """
    training = job_config.training
    data = run_data(job_config)
    run_folder(job_config).check(dp_world_size, data.vocabulary)
    seed = run_seed(job_config)
    micro_batches = accumulation_steps(job_config, dp_world_size)
    if draws_as_nanogpt(job_config):
        dataset = NanoGPTBatchDataset(nanogpt_batches(job_config, data, dp_world_size, dp_rank, micro_batches))
        # The loader draws a base seed when it starts iterating: from a generator of its own,
        # so that the global one stays nanoGPT's.
        return ParallelAwareDataloader(dataset, dp_rank, dp_world_size, batch_size=None, generator=torch.Generator())
    dataset = RandomBlockTokenDataset(
        data.split(dataset_split(training.dataset)),
        seq_len=training.seq_len,
        batch_size=training.local_batch_size,
        seed=seed,
        streams=range(dp_rank * micro_batches, (dp_rank + 1) * micro_batches),
        dropout_seed=derived_seed(seed, "dropout", dp_rank) if dp_rank > 0 else None,
    )
    return ParallelAwareDataloader(dataset, dp_rank, dp_world_size, batch_size=None)


RUN_BATCHES: NanoGPTBatches | None = None
"""The running Trainer's nanoGPT batch sequence, which its validator draws from too (one
Trainer runs at a time, as torchtitan's entry point does)."""


def nanogpt_batches(job_config: JobConfig, data: DataFolder, dp_world_size: int, dp_rank: int,
                    micro_batches: int) -> NanoGPTBatches:
    """nanoGPT's batch sequence for this rank (`debug.randomness = "nanogpt"`), shared with the
    validator: nanoGPT's DDP rank `dp_rank`, so several ranks must be DDP's, not FSDP's shards."""
    global RUN_BATCHES
    parallelism, validation = job_config.parallelism, job_config.validation
    if dp_world_size > 1 and parallelism.data_parallel_replicate_degree != dp_world_size:
        raise NanoGPTTitanError(
            f"debug.randomness='nanogpt' follows nanoGPT's DDP, rank by rank; these {dp_world_size} data-parallel "
            f"ranks shard the model: pass --parallelism.data_parallel_replicate_degree {dp_world_size} "
            "--parallelism.data_parallel_shard_degree 1, or debug.randomness='rank_invariant'"
        )
    training = job_config.training
    if (validation.local_batch_size, validation.seq_len) != (training.local_batch_size, training.seq_len):
        raise NanoGPTTitanError(
            f"debug.randomness='nanogpt' evaluates as nanoGPT, with the training batches' shape: set "
            f"validation.local_batch_size={training.local_batch_size} and validation.seq_len={training.seq_len}"
        )
    RUN_BATCHES = NanoGPTBatches(
        data.split("train"), data.split("val"), training.local_batch_size, training.seq_len, micro_batches,
        eval_interval=validation.freq, eval_iters=validation.steps, evaluates=validation.enable and dp_rank == 0,
    )
    return RUN_BATCHES
