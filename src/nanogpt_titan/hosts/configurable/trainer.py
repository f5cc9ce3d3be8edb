"""torchtitan's Trainer with the nanogpt model's components, on either Configurable release.

Its Config hands each component what it derives from the run's settings, so that each setting
is given once: the data plan (the data, the batches in windows, the evaluations, what the run
will load) to the tokenizer, the dataloader, the validator and the metrics processor; the model
args to the metrics processor. The model is `flavor`'s (torchtitan keeps its model tree off the
command line; `--flavor` names it). The Trainer makes the run's shared parts once
(`NanoGPTRun`) and hands them to the components that draw or meter, and checkpoints every
rank's generators with its own state, taken when the checkpoint is saved.

A release subclasses it with its dataloader and how its TrainingConfig counts a batch
(`batch_counts`, from `nanogpt_titan.hosts.configurable.batch_counts`).
"""

import functools
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import torch
from torchtitan.config import ParallelismConfig
from torchtitan.trainer import Trainer

from nanogpt_titan.data.datasets import BatchShape
from nanogpt_titan.hosts.configurable.batch_counts import TokenCounts, WindowCounts
from nanogpt_titan.hosts.configurable.data import NanoGPTTokenizer
from nanogpt_titan.hosts.configurable.loss import NanoGPTLoss
from nanogpt_titan.hosts.configurable.metrics import NanoGPTMetricsProcessor
from nanogpt_titan.hosts.configurable.model import model_spec
from nanogpt_titan.hosts.configurable.optimizer import NanoGPTLRSchedulers, NanoGPTOptimizers
from nanogpt_titan.hosts.configurable.parallelize import SPMD_BACKEND, parallelize_nanogpt
from nanogpt_titan.hosts.configurable.validate import NanoGPTValidator
from nanogpt_titan.hosts.data import DataPlan
from nanogpt_titan.randomness import (
    DEFAULT_SEED,
    RANK_INVARIANT,
    Evaluations,
    Randomness,
    generator_states,
    load_generator_states,
)
from nanogpt_titan.run import NanoGPTRun
from nanogpt_titan.run_folder import RunFolder

SECTION = "dataloader"  # where the Configurable releases keep dataset and dataset_path


class NanoGPTTrainer(Trainer):
    @dataclass(kw_only=True, slots=True)
    class Config(Trainer.Config):
        batch_counts: ClassVar[type[WindowCounts | TokenCounts]]

        tokenizer: NanoGPTTokenizer.Config = field(default_factory=NanoGPTTokenizer.Config)
        optimizer: NanoGPTOptimizers.Config = field(default_factory=NanoGPTOptimizers.Config)
        lr_scheduler: NanoGPTLRSchedulers.Config = field(default_factory=NanoGPTLRSchedulers.Config)
        metrics: NanoGPTMetricsProcessor.Config = field(default_factory=NanoGPTMetricsProcessor.Config)
        validator: NanoGPTValidator.Config = field(default_factory=NanoGPTValidator.Config)
        loss: NanoGPTLoss.Config = field(default_factory=NanoGPTLoss.Config)
        parallelism: ParallelismConfig = field(default_factory=lambda: ParallelismConfig(spmd_backend=SPMD_BACKEND))
        randomness: Literal["rank_invariant", "nanogpt"] = RANK_INVARIANT
        """How the run draws its random numbers: numbered window streams per micro-batch, so that N ranks
        train as one process accumulating their micro-batches; or nanoGPT's own draws from
        `torch.manual_seed(debug.seed + rank)`, its initial weights and its batches in train.py's order."""
        flavor: str = "debugmodel"
        """The model: a flavor's name, a checkpoint's folder (`nanogpt-titan convert` writes one; a Hugging
        Face GPT-2 folder), or the args themselves (n_layer=6,n_head=6,n_embd=384,block_size=256,dropout=0.2,bias=False)."""

        def __post_init__(self):
            if self.model_spec is None or self.model_spec.flavor != self.flavor:
                # The model tree is no setting on these releases; the flavor is.
                self.model_spec = model_spec(
                    self.flavor,
                    functools.partial(parallelize_nanogpt, batch_settings=self.batch_counts.batch_settings_of),
                )
            Trainer.Config.__post_init__(self)
            self.tokenizer.data = self.dataloader.data = self.validator.data = self.metrics.data = self.data_plan()
            self.validator.training_steps = self.training.steps
            self.metrics.model_args = self.model_spec.model.args

        def data_plan(self) -> DataPlan:
            batches, validator = self.batch_counts.batch_settings_of(self.training), self.validator
            return DataPlan(
                dataset=self.dataloader.dataset,
                dataset_path=self.dataloader.dataset_path,
                section=SECTION,
                batches=batches,
                seq_len_setting=self.batch_counts.SEQ_LEN_SETTING,
                evaluations=Evaluations(validator.enable, validator.freq, validator.steps),
                validation_shape=BatchShape(
                    validator.batch_size or batches.local_batch_size, validator.context or batches.seq_len
                )
                if validator.enable
                else None,
                validation_fix="leave validator.batch_size and validator.context unset",
                replicate_degree=self.parallelism.data_parallel_replicate_degree,
                run_folder=RunFolder(
                    self.dump_folder,
                    self.checkpoint,
                    self.hf_assets_path,
                    self.training.steps,
                    self.dataloader.dataset_path,
                    dump_folder_setting="dump_folder",
                    dataset_path_setting=f"{SECTION}.dataset_path",
                ),
            )

        def contexts(self) -> dict[str, int]:
            """The contexts the run's windows have, by the settings that give them."""
            contexts = {self.batch_counts.SEQ_LEN_SETTING: self.batch_counts.batch_settings_of(self.training).seq_len}
            if self.validator.enable and self.validator.context:
                contexts["validator.context"] = self.validator.context
            return contexts

    def __init__(self, config: Config):
        seed = DEFAULT_SEED if config.debug.seed is None else config.debug.seed
        run = NanoGPTRun(Randomness(config.randomness, seed, setting="randomness"))
        for part in (config.model_spec.model, config.dataloader, config.validator, config.loss, config.metrics):
            part.run = run
        super().__init__(config)

    @staticmethod
    def _generators_key() -> str:
        """Each rank checkpoints its own generators (its dropout's, nanoGPT's batches')."""
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        return f"generators_rank_{rank}"

    def state_dict(self) -> dict:
        return {**super().state_dict(), self._generators_key(): generator_states()}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        load_generator_states(state_dict[self._generators_key()])
