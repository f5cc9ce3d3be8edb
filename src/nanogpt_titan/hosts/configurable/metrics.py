"""The metrics processor on torchtitan's Configurable API: its own, keeping `metrics.jsonl` and the
run summary (`nanogpt_titan.hosts.metrics`)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro
from torchtitan.components.metrics import MetricsProcessor
from torchtitan.distributed import ParallelDims

from nanogpt_titan.hosts.data import DataPlan
from nanogpt_titan.hosts.metrics import RunRecords
from nanogpt_titan.metrics.summary import RunFacts
from nanogpt_titan.model.args import NanoGPTModelArgs
from nanogpt_titan.run import NanoGPTRun


class NanoGPTMetricsProcessor(RunRecords, MetricsProcessor):
    ASKS_AT_STEP_END = False

    @dataclass(kw_only=True, slots=True)
    class Config(MetricsProcessor.Config):
        # Handed over by the trainer's config from its own settings.
        data: Annotated[DataPlan | None, tyro.conf.Suppress] = None
        model_args: Annotated[NanoGPTModelArgs | None, tyro.conf.Suppress] = None
        run: Annotated[NanoGPTRun | None, tyro.conf.Suppress] = None

    def __init__(self, config: Config, *, parallel_dims: ParallelDims, dump_folder: str = "./outputs", **kwargs):
        super().__init__(config, parallel_dims=parallel_dims, dump_folder=dump_folder, **kwargs)
        folder, checkpoint = config.data.run_folder, config.data.run_folder.checkpoint
        run = RunFacts(
            dump_folder=Path(dump_folder),
            dump_folder_setting=f"--{folder.dump_folder_setting}",
            training_steps=folder.training_steps,
            enable_wandb=config.enable_wandb,
            checkpoint_folder=folder.checkpoint_folder if checkpoint.enable and not checkpoint.load_only else None,
            model_args=config.model_args,
            vocabulary=lambda: config.data.folder().vocabulary,
            loaded=folder.loaded(),  # before the checkpointer loads or saves anything
            log_freq=config.log_freq,
        )
        self.start_records(run, parallel_dims, config.enable_wandb, config.run)
