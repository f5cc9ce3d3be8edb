"""The nanogpt trainer on torchtitan main, whose TrainingConfig counts a batch in tokens
(`num_tokens_per_microbatch_per_dp_rank`, `num_tokens_per_train_step`, `max_context_length`),
whose dataloader is grain's, and whose cross entropy takes the batch folded into its tokens."""

from dataclasses import dataclass, field

from torchtitan.config import TrainingConfig

from nanogpt_titan.data.datasets import BatchSettings
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.configurable import loss, trainer
from nanogpt_titan.hosts.main.data import NanoGPTDataLoader


class FoldedLoss(loss.NanoGPTLoss):
    FOLDED = True

    @dataclass(kw_only=True, slots=True)
    class Config(loss.NanoGPTLoss.Config):
        pass


class NanoGPTTrainer(trainer.NanoGPTTrainer):
    @dataclass(kw_only=True, slots=True)
    class Config(trainer.NanoGPTTrainer.Config):
        SEQ_LEN_SETTING = "training.max_context_length"

        dataloader: NanoGPTDataLoader.Config = field(default_factory=NanoGPTDataLoader.Config)
        loss: FoldedLoss.Config = field(default_factory=FoldedLoss.Config)

        @staticmethod
        def batch_settings_of(training: TrainingConfig) -> BatchSettings:
            """The batches in windows of `max_context_length` tokens, which the counts must hold whole."""
            context = training.max_context_length
            counts = {
                "num_tokens_per_microbatch_per_dp_rank": training.num_tokens_per_microbatch_per_dp_rank,
                "num_tokens_per_train_step": training.num_tokens_per_train_step,
            }
            for setting, tokens in counts.items():
                if tokens != -1 and tokens % context:
                    raise NanoGPTTitanError(
                        f"training.{setting}={tokens} is not a whole number of windows of "
                        f"training.max_context_length={context}: set a multiple of {context}"
                    )
            per_step = counts["num_tokens_per_train_step"]
            return BatchSettings(
                counts["num_tokens_per_microbatch_per_dp_rank"] // context,
                context,
                per_step // context if per_step > 0 else -1,
            )

        @staticmethod
        def training_settings(batches: BatchSettings) -> dict[str, int]:
            per_step = batches.global_batch_size
            return {
                "num_tokens_per_microbatch_per_dp_rank": batches.local_batch_size * batches.seq_len,
                "max_context_length": batches.seq_len,
                "num_tokens_per_train_step": per_step * batches.seq_len if per_step > 0 else -1,
            }
