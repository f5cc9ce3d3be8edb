import ast
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torchtitan.config import JobConfig
from torchtitan.protocols.model import BaseModelArgs
from torchtitan.tools.logging import logger

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
    # nanoGPT's randomness (set by update_from_config): the seed nanoGPT initialises with, and
    # this process's (seed + rank). Not a GPTConfig field: never saved with the args.
    nanogpt_seeds: tuple[int, int] | None = field(default=None, compare=False, repr=False)

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

    def update_from_config(self, job_config: JobConfig, **kwargs) -> None:
        """Take the vocabulary from the run's tokenizer; refuse contexts the model cannot hold."""
        # Imported here, not with the module: building model args never reaches the data layer.
        from nanogpt_titan.dataloader import draws_as_nanogpt, run_data, run_seed

        if draws_as_nanogpt(job_config):
            rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
            self.nanogpt_seeds = (run_seed(job_config), run_seed(job_config) + rank)
        vocabulary = run_data(job_config).vocabulary
        if self.vocab_size is None:
            self.vocab_size = vocabulary.model_size
        else:
            vocabulary.check_model(self.vocab_size, None, "the model", "train on the data the checkpoint was made from")
        initial_load_path = job_config.checkpoint.initial_load_path
        if job_config.checkpoint.enable and initial_load_path and not Path(initial_load_path).is_dir():
            raise NanoGPTTitanError(
                f"checkpoint.initial_load_path={initial_load_path!r} is not a folder: point it at a checkpoint "
                "(`nanogpt-titan convert` writes one) or a Hugging Face folder"
            )
        contexts = {"training.seq_len": job_config.training.seq_len}
        if job_config.validation.enable:
            contexts["validation.seq_len"] = job_config.validation.seq_len
        for setting, seq_len in contexts.items():
            if seq_len > self.block_size:
                raise NanoGPTTitanError(
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


class UnknownFlavorError(NanoGPTTitanError, KeyError):
    """A `--model.flavor` that names no flavor and no checkpoint folder (a KeyError for Mapping's sake)."""

    __str__ = Exception.__str__  # the message as it is, not quoted as KeyError would show it


def _fields_of_spec(spec: str) -> dict:
    """`n_layer=6,n_head=6,...` as GPTConfig fields (values read as Python literals)."""
    fields = {}
    for item in spec.split(","):
        name, _, text = item.partition("=")
        try:
            fields[name.strip()] = ast.literal_eval(text.strip())
        except (SyntaxError, ValueError):
            raise NanoGPTTitanError(f"--model.flavor {spec}: {item!r} is not name=value with a Python literal") from None
    return fields


class NanoGPTFlavors(dict[str, NanoGPTModelArgs]):
    """The registered flavors; `--model.flavor` may also name a checkpoint's folder: one written by
    `nanogpt-titan convert` (its `model_args.json`, or that file itself) or a Hugging Face GPT-2
    folder (its `config.json`), so a checkpoint trains and validates as it is; or give the args
    themselves, `n_layer=6,n_head=6,n_embd=384,block_size=256,dropout=0.2,bias=False` (the
    others keep GPTConfig's defaults), as `nanogpt-titan train` does for a nanoGPT config.

    Lookups return a copy: the Trainer's `update_from_config` must not rewrite the registry.
    A renamed flavor keeps working under its old name for one release, with a warning.
    """

    def __init__(self, flavors: dict[str, NanoGPTModelArgs], renamed: dict[str, str] | None = None):
        super().__init__(flavors)
        self.renamed = renamed or {}

    def __getitem__(self, flavor: str) -> NanoGPTModelArgs:
        if flavor in self.renamed:
            logger.warning(f"flavor {flavor!r} is now called {self.renamed[flavor]!r}; the old name goes in the next release")
            flavor = self.renamed[flavor]
        if flavor in self.keys():
            return dataclasses.replace(super().__getitem__(flavor))
        if "=" in flavor:
            return NanoGPTModelArgs.from_fields(_fields_of_spec(flavor), f"--model.flavor {flavor}")
        path = Path(flavor).expanduser()
        if path.is_dir() and (path / MODEL_ARGS_FILE).is_file():
            return NanoGPTModelArgs.from_json(path / MODEL_ARGS_FILE)
        if path.is_dir() and (path / HF_CONFIG_FILE).is_file():
            config = json.loads((path / HF_CONFIG_FILE).read_text())
            return NanoGPTModelArgs.from_fields(NanoGPTModelArgs.fields_from_hf_config(config), path / HF_CONFIG_FILE)
        if path.suffix == ".json" and path.is_file():
            return NanoGPTModelArgs.from_json(path)
        raise UnknownFlavorError(
            f"unknown nanogpt flavor {flavor!r}: use one of {sorted(self.keys())}, the folder of a checkpoint "
            f"written by `nanogpt-titan convert` (it holds {MODEL_ARGS_FILE}), a Hugging Face GPT-2 folder, or "
            "the args themselves (n_layer=6,n_head=6,n_embd=384,block_size=256,dropout=0.2,bias=False)"
        )

    def get(self, flavor: str, default=None):
        try:
            return self[flavor]
        except UnknownFlavorError:
            return default
