"""The metrics processor on torchtitan 0.3: its own, keeping `metrics.jsonl` and the run summary
(`nanogpt_titan.hosts.metrics`)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro
from torchtitan.components.checkpoint import CheckpointManager
from torchtitan.components.metrics import MetricsProcessor
from torchtitan.distributed import ParallelDims

from nanogpt_titan.hosts.metrics import RunFacts, RunRecords
from nanogpt_titan.hosts.v0_3.data import NanoGPTDataLoader
from nanogpt_titan.model.args import NanoGPTModelArgs


class NanoGPTMetricsProcessor(RunRecords, MetricsProcessor):
    ASKS_AT_STEP_END = False
    @dataclass(kw_only=True, slots=True)
    class Config(MetricsProcessor.Config):
        # Handed over by the trainer's config from its own settings.
        training_steps: Annotated[int, tyro.conf.Suppress] = 0
        checkpoint: Annotated[CheckpointManager.Config | None, tyro.conf.Suppress] = None
        model_args: Annotated[NanoGPTModelArgs | None, tyro.conf.Suppress] = None
        data: Annotated[NanoGPTDataLoader.Config | None, tyro.conf.Suppress] = None

    def __init__(self, config: Config, *, parallel_dims: ParallelDims, dump_folder: str = "./outputs", **kwargs):
        super().__init__(config, parallel_dims=parallel_dims, dump_folder=dump_folder, **kwargs)
        checkpoint = config.checkpoint
        run = RunFacts(
            dump_folder=Path(dump_folder),
            dump_folder_setting="--dump_folder",
            training_steps=config.training_steps,
            enable_wandb=config.enable_wandb,
            checkpoint_folder=(Path(dump_folder) / checkpoint.folder
                               if checkpoint.enable and not checkpoint.load_only else None),
            model_args=config.model_args,
            vocabulary=lambda: config.data.data().vocabulary,
            loaded=None,
        )
        self.start_records(run, parallel_dims, config.enable_wandb)
