"""torchtitan 0.3's Trainer with the nanogpt model's components. Its Config hands them what
they derive from the run's own settings, so that each setting is given once: the seed
(`debug.seed`) and the global batch (`training`) to the dataloader, whose window streams
depend on them; the data folder to the tokenizer and the validator; the model, data and
checkpoint settings to the metrics processor, for the run's records and summary."""

from dataclasses import dataclass, field

from torchtitan.components.loss import BaseLoss
from torchtitan.config import ParallelismConfig
from torchtitan.trainer import Trainer

from nanogpt_titan.data.datasets import DEFAULT_SEED
from nanogpt_titan.hosts.v0_3.data import NanoGPTDataLoader, NanoGPTTokenizer
from nanogpt_titan.hosts.v0_3.loss import NanoGPTLoss
from nanogpt_titan.hosts.v0_3.metrics import NanoGPTMetricsProcessor
from nanogpt_titan.hosts.v0_3.optimizer import NanoGPTLRSchedulers, NanoGPTOptimizers
from nanogpt_titan.hosts.v0_3.parallelize import SPMD_BACKEND
from nanogpt_titan.hosts.v0_3.validate import NanoGPTValidator


class NanoGPTTrainer(Trainer):
    @dataclass(kw_only=True, slots=True)
    class Config(Trainer.Config):
        tokenizer: NanoGPTTokenizer.Config = field(default_factory=NanoGPTTokenizer.Config)
        dataloader: NanoGPTDataLoader.Config = field(default_factory=NanoGPTDataLoader.Config)
        optimizer: NanoGPTOptimizers.Config = field(default_factory=NanoGPTOptimizers.Config)
        lr_scheduler: NanoGPTLRSchedulers.Config = field(default_factory=NanoGPTLRSchedulers.Config)
        metrics: NanoGPTMetricsProcessor.Config = field(default_factory=NanoGPTMetricsProcessor.Config)
        validator: NanoGPTValidator.Config = field(default_factory=NanoGPTValidator.Config)
        loss: BaseLoss.Config = field(default_factory=NanoGPTLoss.Config)
        parallelism: ParallelismConfig = field(default_factory=lambda: ParallelismConfig(spmd_backend=SPMD_BACKEND))

        def __post_init__(self):
            Trainer.Config.__post_init__(self)
            self.dataloader.seed = DEFAULT_SEED if self.debug.seed is None else self.debug.seed
            self.dataloader.global_batch_size = self.training.global_batch_size
            self.tokenizer.data = self.validator.data = self.metrics.data = self.dataloader
            self.validator.training_steps = self.metrics.training_steps = self.training.steps
            self.metrics.checkpoint = self.checkpoint
            self.metrics.model_args = self.model_spec.model.args if self.model_spec is not None else None
