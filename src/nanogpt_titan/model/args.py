import json
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from nanogpt_titan.errors import NanoGPTTitanError

MODEL_ARGS_FILE = "model_args.json"  # beside a converted checkpoint, and a `--model.flavor` value
HF_CONFIG_FILE = "config.json"  # a Hugging Face model folder's
VOCABULARY_FILE = "vocabulary.json"  # a char model's characters, in id order, beside model_args.json
GPT_CONFIG_FIELDS = ("n_layer", "n_head", "n_embd", "block_size", "vocab_size", "dropout", "bias")
# Hugging Face config names of nanoGPT's GPTConfig fields; nanoGPT-style configs use nanoGPT's own.
HF_CONFIG_NAMES = {
    "n_layer": ("n_layer", "num_hidden_layers"),
    "n_head": ("n_head", "num_attention_heads"),
    "n_embd": ("n_embd", "hidden_size"),
    "block_size": ("block_size", "n_positions", "max_position_embeddings"),
    "vocab_size": ("vocab_size",),
    "dropout": ("dropout", "resid_pdrop"),
    "bias": ("bias",),
}


@dataclass(eq=False)
class NanoGPTModelArgs:
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
            raise NanoGPTTitanError(
                f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                "pick a width that is a multiple of the head count"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise NanoGPTTitanError(f"dropout={self.dropout} must be in [0, 1)")

    def __eq__(self, other: object) -> bool:
        """Equal GPTConfig fields: a host's subclass of the args equals the core's."""
        if not isinstance(other, NanoGPTModelArgs):
            return NotImplemented
        return self.gpt_config() == other.gpt_config()

    def gpt_config(self) -> dict:
        """The fields of nanoGPT's `GPTConfig` (its `model_args`)."""
        return {name: getattr(self, name) for name in GPT_CONFIG_FIELDS}

    def __str__(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.gpt_config().items())

    @classmethod
    def from_fields(cls, fields: dict, source: object) -> "NanoGPTModelArgs":
        """Args from GPTConfig fields read from `source` (named in errors), each field checked."""
        unknown = fields.keys() - set(GPT_CONFIG_FIELDS)
        if unknown:
            raise NanoGPTTitanError(f"{source}: unknown model args {sorted(unknown)}; not a nanoGPT GPTConfig")
        return cls(**fields)

    @classmethod
    def from_json(cls, path: Path) -> "NanoGPTModelArgs":
        """Args saved by `to_json`, e.g. the `model_args.json` that `nanogpt-titan convert` writes."""
        return cls.from_fields(json.loads(Path(path).read_text()), path)

    @staticmethod
    def fields_from_hf_config(config: dict) -> dict:
        """The GPTConfig fields a Hugging Face (or nanoGPT-style) config.json records."""
        fields = {}
        for arg, names in HF_CONFIG_NAMES.items():
            present = [name for name in names if name in config]
            if present:  # nanoGPT's own name first, then Hugging Face's
                fields[arg] = config[present[0]]
        return fields

    def to_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.gpt_config(), indent=2) + "\n")

    def complete(self, vocabulary, contexts: dict[str, int], flavor: str) -> None:
        """Complete the args from a run's settings, as every host's Trainer does before it builds
        the model: the data `vocabulary`'s size (a checkpoint's args are checked against it
        instead), and the run's `contexts` (`setting: seq_len`), which must fit the model."""
        if self.vocab_size is None:
            self.vocab_size = vocabulary.model_size
        else:
            vocabulary.check_model(self.vocab_size, None, "the model", "train on the data the checkpoint was made from")
        for setting, seq_len in contexts.items():
            if seq_len > self.block_size:
                raise NanoGPTTitanError(
                    f"{setting}={seq_len} exceeds the model's block_size={self.block_size} "
                    f"(flavor {flavor!r}); set {setting} <= {self.block_size}"
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
