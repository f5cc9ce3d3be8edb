import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from torch import nn
from torchtitan.config import JobConfig
from torchtitan.protocols.model import BaseModelArgs

from nanogpt_titan.tokenizer import build_char_tokenizer

MODEL_ARGS_FILE = "model_args.json"  # beside a converted checkpoint, and a `--model.flavor` value


@dataclass
class NanoGPTModelArgs(BaseModelArgs):
    """nanoGPT's `GPTConfig`, with its defaults except one: `vocab_size=None` means "the run's
    tokenizer decides" (nanoGPT's 50304 is GPT-2's BPE vocabulary, padded). A checkpoint's args
    fix the vocabulary, and a run whose tokenizer disagrees is refused."""

    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    block_size: int = 1024
    vocab_size: int | None = None
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

    def gpt_config(self) -> dict:
        """The fields of nanoGPT's `GPTConfig` (its `model_args`), without torchtitan's marker."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not f.name.startswith("_")}

    def __str__(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.gpt_config().items())

    @classmethod
    def from_json(cls, path: Path) -> "NanoGPTModelArgs":
        """Args saved by `to_json`, e.g. the `model_args.json` that `nanogpt-titan convert` writes."""
        fields = json.loads(Path(path).read_text())
        unknown = fields.keys() - cls().gpt_config().keys()
        if unknown:
            raise ValueError(f"{path}: unknown model args {sorted(unknown)}; not a nanoGPT model_args.json")
        return cls(**fields)

    def to_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.gpt_config(), indent=2) + "\n")

    def update_from_config(self, job_config: JobConfig, **kwargs) -> None:
        """Take the vocabulary from the run's tokenizer; refuse contexts the model cannot hold."""
        tokenizer_vocab = build_char_tokenizer(job_config).get_vocab_size()
        if self.vocab_size not in (None, tokenizer_vocab):
            raise ValueError(
                f"the model's vocab_size={self.vocab_size} disagrees with the tokenizer's "
                f"{tokenizer_vocab} characters of training.dataset_path="
                f"{job_config.training.dataset_path!r}; train on the text the checkpoint was made from"
            )
        self.vocab_size = tokenizer_vocab
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


class NanoGPTFlavors(dict[str, NanoGPTModelArgs]):
    """The registered flavors; `--model.flavor` may also name a converted checkpoint's folder
    (or its `model_args.json`), so any checkpoint `nanogpt-titan convert` wrote can be trained on.

    Lookups return a copy: the Trainer's `update_from_config` must not rewrite the registry.
    """

    def __getitem__(self, flavor: str) -> NanoGPTModelArgs:
        if flavor in self.keys():
            return dataclasses.replace(super().__getitem__(flavor))
        path = Path(flavor).expanduser()
        args_file = path / MODEL_ARGS_FILE if path.is_dir() else path
        if args_file.name.endswith(".json") and args_file.is_file():
            return NanoGPTModelArgs.from_json(args_file)
        raise KeyError(
            f"unknown nanogpt flavor {flavor!r}: use one of {sorted(self.keys())} or the folder "
            f"of a checkpoint written by `nanogpt-titan convert` (it holds {MODEL_ARGS_FILE})"
        )
