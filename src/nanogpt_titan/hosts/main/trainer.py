"""The nanogpt trainer on torchtitan main, whose TrainingConfig counts a batch in tokens
(`num_tokens_per_microbatch_per_dp_rank`, `num_tokens_per_train_step`, `max_context_length`),
whose dataloader is grain's, and whose cross entropy takes the batch folded into its tokens."""

from dataclasses import dataclass, field

from nanogpt_titan.hosts.configurable import loss, trainer
from nanogpt_titan.hosts.configurable.batch_counts import TokenCounts
from nanogpt_titan.hosts.main.data import NanoGPTDataLoader


class FoldedLoss(loss.NanoGPTLoss):
    FOLDED = True

    @dataclass(kw_only=True, slots=True)
    class Config(loss.NanoGPTLoss.Config):
        pass


class NanoGPTTrainer(trainer.NanoGPTTrainer):
    @dataclass(kw_only=True, slots=True)
    class Config(trainer.NanoGPTTrainer.Config):
        batch_counts = TokenCounts

        dataloader: NanoGPTDataLoader.Config = field(default_factory=NanoGPTDataLoader.Config)
        loss: FoldedLoss.Config = field(default_factory=FoldedLoss.Config)
