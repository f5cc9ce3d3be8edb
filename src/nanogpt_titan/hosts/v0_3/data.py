"""The run's data as torchtitan 0.3 components: the tokenizer (the data folder's vocabulary) and
the dataloader (random windows, laid out so that any number of data-parallel ranks trains on
what one process accumulating all micro-batches would; `nanogpt_titan.data`)."""

from dataclasses import dataclass
from typing import Annotated

import torch
import tyro
from torchtitan.components.dataloader import ParallelAwareDataloader
from torchtitan.components.tokenizer import BaseTokenizer

from nanogpt_titan.data.datasets import DEFAULT_SEED, accumulation_steps, dataset_folder, dataset_split
from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.data.nanogpt_batches import NanoGPTBatchDataset, NanoGPTBatches
from nanogpt_titan.data.windows import RandomBlockTokenDataset, derived_seed
from nanogpt_titan.hosts.run_folder import RunFolder
from nanogpt_titan.hosts.tokenizer import VocabularyTokenizer

SECTION = "dataloader"  # where 0.3 keeps dataset and dataset_path


class NanoGPTDataLoader(ParallelAwareDataloader):
    """Each micro-batch of a step has its own stream of windows: with A micro-batches per rank,
    rank r draws micro-batch a from stream r * A + a, which is micro-batch r * A + a of one
    process that accumulates all N * A. Rank 0 drops out units from where the model's
    initialisation left the global generator, as one process does; rank r > 0 from a stream of
    its own."""

    @dataclass(kw_only=True, slots=True)
    class Config(ParallelAwareDataloader.Config):
        dataset: str = "shakespeare_char_train"
        # Handed over by the trainer's config from its own settings (debug.seed, training).
        seed: Annotated[int, tyro.conf.Suppress] = DEFAULT_SEED
        global_batch_size: Annotated[int, tyro.conf.Suppress] = -1
        run_folder: Annotated[RunFolder | None, tyro.conf.Suppress] = None
        randomness: Annotated[str, tyro.conf.Suppress] = "rank_invariant"

        def data(self) -> DataFolder:
            return dataset_folder(self.dataset, self.dataset_path, SECTION)

    def __init__(self, config: Config, *, dp_world_size: int, dp_rank: int, tokenizer, seq_len: int,
                 local_batch_size: int, snapshot_every_n_steps: int | None = None):
        micro_batches = accumulation_steps(local_batch_size, config.global_batch_size, dp_world_size)
        data = config.data()
        if config.run_folder is not None:
            config.run_folder.check(dp_world_size, data.vocabulary)
        if config.randomness == "nanogpt":
            global RUN_BATCHES
            # The validator sets the evaluations nanoGPT draws between the batches, once it is built.
            RUN_BATCHES = NanoGPTBatches(data.split("train"), data.split("val"), local_batch_size, seq_len,
                                         micro_batches, eval_interval=1, eval_iters=0, evaluates=False)
            # The loader draws a base seed when it starts iterating: from a generator of its own,
            # so that the global one stays nanoGPT's.
            super().__init__(NanoGPTBatchDataset(RUN_BATCHES), dp_rank, dp_world_size, batch_size=None,
                             generator=torch.Generator())
            return
        dataset = RandomBlockTokenDataset(
            data.split(dataset_split(config.dataset, SECTION)),
            seq_len=seq_len,
            batch_size=local_batch_size,
            seed=config.seed,
            streams=range(dp_rank * micro_batches, (dp_rank + 1) * micro_batches),
            dropout_seed=derived_seed(config.seed, "dropout", dp_rank) if dp_rank > 0 else None,
        )
        super().__init__(dataset, dp_rank, dp_world_size, batch_size=None)


RUN_BATCHES: NanoGPTBatches | None = None
"""The running Trainer's nanoGPT batch sequence (randomness = "nanogpt"), which its validator
draws from too (one Trainer runs at a time, as torchtitan's entry point does)."""


class NanoGPTTokenizer(VocabularyTokenizer):
    """The data folder's vocabulary (`nanogpt_titan.hosts.tokenizer`)."""

    @dataclass(kw_only=True, slots=True)
    class Config(BaseTokenizer.Config):
        # Handed over by the trainer's config: the training data's.
        data: Annotated[NanoGPTDataLoader.Config | None, tyro.conf.Suppress] = None

    def __init__(self, config: Config, *, tokenizer_path: str | None = None):
        super().__init__()
        self.vocabulary = config.data.data().vocabulary
