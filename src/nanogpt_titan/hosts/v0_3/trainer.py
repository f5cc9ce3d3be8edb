"""The nanogpt trainer on torchtitan 0.3.0, whose TrainingConfig counts a batch in windows
(`local_batch_size`, `global_batch_size`, `seq_len`) and whose dataloader is torchdata's."""

from dataclasses import dataclass, field

from nanogpt_titan.hosts.configurable import trainer
from nanogpt_titan.hosts.configurable.batch_counts import WindowCounts
from nanogpt_titan.hosts.v0_3.data import NanoGPTDataLoader


class NanoGPTTrainer(trainer.NanoGPTTrainer):
    @dataclass(kw_only=True, slots=True)
    class Config(trainer.NanoGPTTrainer.Config):
        batch_counts = WindowCounts

        dataloader: NanoGPTDataLoader.Config = field(default_factory=NanoGPTDataLoader.Config)
