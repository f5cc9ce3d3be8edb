"""torchtitan 0.3's Trainer with the nanogpt model's components. Its Config hands them what
they derive from the run's own settings, so that each setting is given once: the seed
(`debug.seed`) and the global batch (`training`) to the dataloader, whose window streams
depend on them, and the data folder to the tokenizer."""

from dataclasses import dataclass, field

from torchtitan.components.loss import BaseLoss, CrossEntropyLoss
from torchtitan.config import ParallelismConfig
from torchtitan.trainer import Trainer

from nanogpt_titan.data.datasets import DEFAULT_SEED
from nanogpt_titan.hosts.v0_3.data import NanoGPTDataLoader, NanoGPTTokenizer
from nanogpt_titan.hosts.v0_3.optimizer import NanoGPTLRSchedulers, NanoGPTOptimizers
from nanogpt_titan.hosts.v0_3.parallelize import SPMD_BACKEND


class NanoGPTTrainer(Trainer):
    @dataclass(kw_only=True, slots=True)
    class Config(Trainer.Config):
        tokenizer: NanoGPTTokenizer.Config = field(default_factory=NanoGPTTokenizer.Config)
        dataloader: NanoGPTDataLoader.Config = field(default_factory=NanoGPTDataLoader.Config)
        optimizer: NanoGPTOptimizers.Config = field(default_factory=NanoGPTOptimizers.Config)
        lr_scheduler: NanoGPTLRSchedulers.Config = field(default_factory=NanoGPTLRSchedulers.Config)
        loss: BaseLoss.Config = field(default_factory=CrossEntropyLoss.Config)
        parallelism: ParallelismConfig = field(default_factory=lambda: ParallelismConfig(spmd_backend=SPMD_BACKEND))

        def __post_init__(self):
            Trainer.Config.__post_init__(self)
            self.dataloader.seed = DEFAULT_SEED if self.debug.seed is None else self.debug.seed
            self.dataloader.global_batch_size = self.training.global_batch_size
            self.tokenizer.data = self.dataloader
