"""The validator on torchtitan 0.3: its `BaseValidator`, evaluating the nanoGPT way
(`nanogpt_titan.hosts.validation`), on the splits of the training data's folder."""

from dataclasses import dataclass
from typing import Annotated

import tyro
from torchtitan.components.validate import BaseValidator

from nanogpt_titan.data.datasets import dataset_split
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_3 import data as v0_3_data
from nanogpt_titan.hosts.v0_3.data import SECTION, NanoGPTDataLoader
from nanogpt_titan.hosts.validation import Evaluation, EvaluationSettings, last_validation_step


class NanoGPTValidator(Evaluation, BaseValidator):
    @dataclass(kw_only=True, slots=True)
    class Config(BaseValidator.Config):
        enable: bool = False
        steps: int = 200
        """Random batches per split in each estimate (nanoGPT's eval_iters)."""
        dataset: str = "shakespeare_char_validation"
        """The split of the training data's folder that is validated."""
        batch_size: int | None = None
        """Windows per batch (None: training.local_batch_size)."""
        context: int | None = None
        """Tokens per window (None: training.seq_len)."""
        # Handed over by the trainer's config from its own settings.
        data: Annotated[NanoGPTDataLoader.Config | None, tyro.conf.Suppress] = None
        training_steps: Annotated[int, tyro.conf.Suppress] = 0

    def __init__(self, config: Config, *, seq_len: int, local_batch_size: int, metrics_processor, dp_rank: int,
                 **kwargs):
        super().__init__(config)
        data, folder = config.data, config.data.data()
        nanogpt_batches = self.nanogpt_batches_evaluated(config, seq_len, local_batch_size, dp_rank)
        self.start_evaluation(
            EvaluationSettings(
                val_tokens=folder.split(dataset_split(config.dataset, SECTION)),
                train_tokens=folder.split(dataset_split(data.dataset, SECTION)),
                seq_len=config.context or seq_len,
                batch_size=config.batch_size or local_batch_size,
                steps=config.steps,
                seed=data.seed,
                last_step=last_validation_step(config.training_steps, config.freq),
                seq_len_setting="validator.context" if config.context else "training.seq_len",
            ),
            metrics_processor,
            nanogpt_batches,
        )

    def nanogpt_batches_evaluated(self, config: Config, seq_len: int, local_batch_size: int, dp_rank: int):
        """With randomness = "nanogpt", the run's batch sequence, told which evaluations nanoGPT
        draws between its batches: every `freq`-th iteration's, on the first rank."""
        if config.data.randomness != "nanogpt":
            return None
        if (config.batch_size or local_batch_size, config.context or seq_len) != (local_batch_size, seq_len):
            raise NanoGPTTitanError(
                "randomness='nanogpt' evaluates as nanoGPT, with the training batches' shape: leave "
                "validator.batch_size and validator.context unset"
            )
        batches = v0_3_data.RUN_BATCHES
        batches.eval_interval, batches.eval_iters, batches.evaluates = config.freq, config.steps, dp_rank == 0
        batches.report = self.report_untrained
        return batches
