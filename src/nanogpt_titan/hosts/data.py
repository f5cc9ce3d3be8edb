"""What every adapter's dataloader draws: the plan its settings give (`DataPlan`), and this rank's
training batches in the run's randomness (`training_batches`)."""

from dataclasses import dataclass

import torch
from torch.utils.data import IterableDataset

from nanogpt_titan.data.datasets import BatchSettings, BatchShape, dataset_folder, dataset_split
from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.model.args import NanoGPTModelArgs
from nanogpt_titan.randomness import Evaluations
from nanogpt_titan.run import NanoGPTRun
from nanogpt_titan.run_folder import RunFolder


@dataclass(frozen=True)
class DataPlan:
    """A run's data settings, in any host's: `section` is where the host keeps `dataset` and
    `dataset_path`, `seq_len_setting` its name for the training context (errors name the settings
    as the user wrote them), and `validation_fix` how to give validation the training batches'
    shape."""

    dataset: str
    dataset_path: str | None
    section: str
    batches: BatchSettings
    seq_len_setting: str
    evaluations: Evaluations
    validation_shape: BatchShape | None  # None: no validation
    validation_fix: str
    replicate_degree: int  # parallelism.data_parallel_replicate_degree
    run_folder: RunFolder

    def folder(self) -> DataFolder:
        return dataset_folder(self.dataset, self.dataset_path, self.section)

    def check_run(self, args: NanoGPTModelArgs) -> None:
        """What the run folder allows the run to load (`RunFolder.check`), once the model's args
        are complete: every host completes them before it builds anything from them."""
        world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
        self.run_folder.check(world, self.folder().vocabulary, args)


def training_batches(plan: DataPlan, run: NanoGPTRun, dp_world_size: int, dp_rank: int) -> IterableDataset:
    """This rank's training batches in the run's randomness, once the randomness' rules are
    checked: the first thing every adapter's dataloader does."""
    data = plan.folder()
    shape = plan.batches.shape
    run.randomness.check(dp_world_size, plan.replicate_degree, shape, plan.validation_shape, plan.validation_fix)
    return run.randomness.training_batches(
        data,
        dataset_split(plan.dataset, plan.section),
        shape,
        plan.batches.micro_batches(dp_world_size),
        dp_rank,
        plan.evaluations,
    )
