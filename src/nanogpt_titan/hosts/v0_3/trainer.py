"""The nanogpt trainer on torchtitan 0.3.0, whose TrainingConfig counts a batch in windows
(`local_batch_size`, `global_batch_size`, `seq_len`) and whose dataloader is torchdata's."""

from dataclasses import dataclass, field

from torchtitan.config import TrainingConfig

from nanogpt_titan.data.datasets import BatchSettings
from nanogpt_titan.hosts.configurable import trainer
from nanogpt_titan.hosts.v0_3.data import NanoGPTDataLoader


class NanoGPTTrainer(trainer.NanoGPTTrainer):
    @dataclass(kw_only=True, slots=True)
    class Config(trainer.NanoGPTTrainer.Config):
        SEQ_LEN_SETTING = "training.seq_len"

        dataloader: NanoGPTDataLoader.Config = field(default_factory=NanoGPTDataLoader.Config)

        @staticmethod
        def batch_settings_of(training: TrainingConfig) -> BatchSettings:
            return BatchSettings(training.local_batch_size, training.seq_len, training.global_batch_size)

        @staticmethod
        def training_settings(batches: BatchSettings) -> dict[str, int]:
            return {
                "local_batch_size": batches.local_batch_size,
                "seq_len": batches.seq_len,
                "global_batch_size": batches.global_batch_size,
            }
