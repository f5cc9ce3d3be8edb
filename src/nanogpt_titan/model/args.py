from dataclasses import dataclass

from torch import nn
from torchtitan.config import JobConfig
from torchtitan.protocols.model import BaseModelArgs

from nanogpt_titan.tokenizer import build_char_tokenizer


@dataclass
class NanoGPTModelArgs(BaseModelArgs):
    """nanoGPT's `GPTConfig`, with its defaults."""

    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    block_size: int = 1024
    vocab_size: int = 50304
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                "pick a width that is a multiple of the head count"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout} must be in [0, 1)")

    def update_from_config(self, job_config: JobConfig, **kwargs) -> None:
        """Take the vocabulary from the run's tokenizer; refuse contexts the model cannot hold."""
        self.vocab_size = build_char_tokenizer(job_config).get_vocab_size()
        contexts = {"training.seq_len": job_config.training.seq_len}
        if job_config.validation.enable:
            contexts["validation.seq_len"] = job_config.validation.seq_len
        for setting, seq_len in contexts.items():
            if seq_len > self.block_size:
                raise ValueError(
                    f"{setting}={seq_len} exceeds the model's block_size={self.block_size} "
                    f"(flavor {job_config.model.flavor!r}); set {setting} <= {self.block_size}"
                )
        self.validate()

    def get_nparams_and_flops(self, model: nn.Module, seq_len: int) -> tuple[int, int]:
        """Parameter count and training FLOPs per token by nanoGPT's MFU formula.

        nanoGPT's `estimate_mfu`: `6 * N + 12 * L * H * Q * T` per token, with N the
        non-embedding parameters (all parameters less `wpe`; the tied `wte`/`lm_head` counts
        once, as the output layer), L layers, H heads, Q head dim and T the context length
        (nanoGPT's block_size, which is the trained seq_len in every shipped config). The
        count returned is every parameter, counted once.
        """
        n_params = sum(p.numel() for p in model.parameters())
        n_non_embedding = n_params - model.wpe.weight.numel()
        head_dim = self.n_embd // self.n_head
        flops_per_token = 6 * n_non_embedding + 12 * self.n_layer * self.n_head * head_dim * seq_len
        return n_params, flops_per_token
