"""How each Configurable release's TrainingConfig counts a batch (0.3.0 in windows, main in
tokens): the release's fields from the core's `BatchSettings` and back, and the setting that
gives the context. No torchtitan here, so that a run's command line is written without
importing it (`nanogpt-titan train` prints its command and starts it at once)."""

from nanogpt_titan.data.datasets import BatchSettings
from nanogpt_titan.errors import NanoGPTTitanError


class WindowCounts:
    """torchtitan 0.3.0's: `local_batch_size` and `global_batch_size` windows of `seq_len` tokens."""

    SEQ_LEN_SETTING = "training.seq_len"

    @staticmethod
    def batch_settings_of(training) -> BatchSettings:
        """The batch settings of the release's TrainingConfig `training`."""
        return BatchSettings(training.local_batch_size, training.seq_len, training.global_batch_size)

    @staticmethod
    def training_settings(batches: BatchSettings) -> dict[str, int]:
        """`batches` as the release's TrainingConfig fields (`batch_settings_of` read back)."""
        return {
            "local_batch_size": batches.local_batch_size,
            "seq_len": batches.seq_len,
            "global_batch_size": batches.global_batch_size,
        }


class TokenCounts:
    """torchtitan main's: `num_tokens_per_microbatch_per_dp_rank` and `num_tokens_per_train_step`
    tokens, in windows of `max_context_length`."""

    SEQ_LEN_SETTING = "training.max_context_length"

    @staticmethod
    def batch_settings_of(training) -> BatchSettings:
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
        """`batches` as the release's TrainingConfig fields (`batch_settings_of` read back)."""
        per_step = batches.global_batch_size
        return {
            "num_tokens_per_microbatch_per_dp_rank": batches.local_batch_size * batches.seq_len,
            "max_context_length": batches.seq_len,
            "num_tokens_per_train_step": per_step * batches.seq_len if per_step > 0 else -1,
        }


BATCH_COUNTS = {"v0_3": WindowCounts, "main": TokenCounts}
