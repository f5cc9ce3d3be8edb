"""The validator on torchtitan's Configurable API: its `BaseValidator`, evaluating the nanoGPT way
(`nanogpt_titan.hosts.validation`), on the splits of the training data's folder."""

from dataclasses import dataclass
from typing import Annotated

import tyro
from torchtitan.components.validate import BaseValidator

from nanogpt_titan.data.datasets import dataset_split
from nanogpt_titan.hosts.data import DataPlan
from nanogpt_titan.hosts.validation import Evaluation, EvaluationSettings, last_validation_step
from nanogpt_titan.run import NanoGPTRun


class NanoGPTValidator(Evaluation, BaseValidator):
    @dataclass(kw_only=True, slots=True)
    class Config(BaseValidator.Config):
        enable: bool = False
        steps: int = 200
        """Random batches per split in each estimate (nanoGPT's eval_iters)."""
        dataset: str = "shakespeare_char_validation"
        """The split of the training data's folder that is validated."""
        batch_size: int | None = None
        """Windows per batch (None: the training micro-batch's)."""
        context: int | None = None
        """Tokens per window (None: the training context's)."""
        # Handed over by the trainer's config from its own settings.
        data: Annotated[DataPlan | None, tyro.conf.Suppress] = None
        training_steps: Annotated[int, tyro.conf.Suppress] = 0
        run: Annotated[NanoGPTRun | None, tyro.conf.Suppress] = None

    def __init__(self, config: Config, *, metrics_processor, **kwargs):
        """The training batch's shape is the run's (`config.data`), however the release hands it
        over among the `kwargs`."""
        super().__init__(config)
        plan, folder = config.data, config.data.folder()
        self.start_evaluation(
            EvaluationSettings(
                val_tokens=folder.split(dataset_split(config.dataset, plan.section)),
                train_tokens=folder.split(dataset_split(plan.dataset, plan.section)),
                seq_len=config.context or plan.batches.seq_len,
                batch_size=config.batch_size or plan.batches.local_batch_size,
                steps=config.steps,
                seed=config.run.randomness.seed,
                last_step=last_validation_step(config.training_steps, config.freq),
                seq_len_setting="validator.context" if config.context else plan.seq_len_setting,
            ),
            metrics_processor,
            config.run.randomness,
        )
