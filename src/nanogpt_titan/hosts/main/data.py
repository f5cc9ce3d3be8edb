"""The dataloader on torchtitan main: its own grain pipeline (`GrainDataLoader`) over the run's
training batches (`nanogpt_titan.hosts.data`), as a grain dataset whose iterator resumes exactly.

Every row the pipeline reads is already a batch of windows, so it batches rows one at a time,
and it reads them as the Trainer asks (no prefetch thread): nanoGPT's draws come from the
process's generator, which only the training thread may touch. The checkpointed state is the
batches' own (window streams, or nanoGPT's sequence); the process's generators the Trainer
checkpoints with its own state.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import grain.python as grain
import tyro
from torch.utils.data import IterableDataset
from torchtitan.components.data import GrainDataLoader
from torchtitan.components.data.collators import Collator, TrainerBatch
from torchtitan.components.data.loader import BaseDataLoader
from torchtitan.components.data.types import DatasetBuildContext, DatasetIterationPolicy

from nanogpt_titan.hosts.data import DataPlan, training_batches
from nanogpt_titan.run import NanoGPTRun


class _BatchesIterator(grain.DatasetIterator):
    def __init__(self, batches: IterableDataset):
        super().__init__()
        self.batches, self.iterator = batches, iter(batches)

    def __next__(self) -> TrainerBatch:
        return next(self.iterator)

    def get_state(self) -> dict[str, Any]:
        return self.batches.state_dict()

    def set_state(self, state: dict[str, Any]) -> None:
        self.batches.load_state_dict(state)


class TrainingBatchesDataset(grain.IterDataset):
    """A rank's training batches as a grain dataset."""

    def __init__(self, batches: IterableDataset):
        super().__init__()
        self.batches = batches

    def __iter__(self) -> _BatchesIterator:
        return _BatchesIterator(self.batches)


@dataclass(frozen=True)
class TrainingBatches:
    """The grain dataset of this rank's training batches (torchtitan's `DatasetConfig`)."""

    data: DataPlan
    run: NanoGPTRun

    def build(
        self, *, context: DatasetBuildContext, dataset_iteration_policy: DatasetIterationPolicy
    ) -> TrainingBatchesDataset:
        policy = dataset_iteration_policy
        return TrainingBatchesDataset(training_batches(self.data, self.run, policy.dp_world_size, policy.dp_rank))


class Batched(Collator):
    """A row that is a batch already, as the Trainer takes it."""

    @dataclass(kw_only=True, slots=True)
    class Config(Collator.Config):
        pass

    def __init__(self, config: Config, *, context: DatasetBuildContext):
        pass

    def __call__(self, rows: Sequence[TrainerBatch]) -> TrainerBatch:
        (batch,) = rows
        return batch


class NanoGPTDataLoader(BaseDataLoader):
    @dataclass(kw_only=True, slots=True)
    class Config(BaseDataLoader.Config):
        dataset: str = "shakespeare_char_train"
        dataset_path: str | None = None
        # Handed over by the trainer and its config.
        data: Annotated[DataPlan | None, tyro.conf.Suppress] = None
        run: Annotated[NanoGPTRun | None, tyro.conf.Suppress] = None

    def __init__(self, config: Config, **kwargs):
        """`kwargs`: the ranks and the batch in tokens, as main hands them to its loaders; the
        batch's shape is the run's (`config.data`)."""
        pipeline = GrainDataLoader.Config(
            dataset=TrainingBatches(config.data, config.run),
            collator=Batched.Config(),
            shuffle=False,
            num_prefetch_batches=0,
        )
        self.pipeline = pipeline.build(**kwargs)

    def __iter__(self):
        return iter(self.pipeline)

    def state_dict(self) -> dict[str, Any]:
        return self.pipeline.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.pipeline.load_state_dict(state_dict)

    def close(self) -> None:
        self.pipeline.close()
