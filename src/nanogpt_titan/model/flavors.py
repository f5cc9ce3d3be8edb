"""The named model sizes, and how a flavor names a model: a name, a checkpoint's folder, or the args."""

import ast
import json
import logging
from pathlib import Path

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model.args import HF_CONFIG_FILE, MODEL_ARGS_FILE, NanoGPTModelArgs

logger = logging.getLogger(__name__)

FLAVORS = {
    "debugmodel": NanoGPTModelArgs(n_layer=2, n_head=2, n_embd=64, block_size=64),
    # nanoGPT README's CPU recipe of the shakespeare-char config (called "baby" until 0.1).
    "shakespeare-cpu": NanoGPTModelArgs(n_layer=4, n_head=4, n_embd=128, block_size=64, bias=False),
    # config/train_shakespeare_char.py, the model nanoGPT's README calls "a baby GPT"
    "mini-gpt": NanoGPTModelArgs(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2, bias=False),
    "gpt2": NanoGPTModelArgs(n_layer=12, n_head=12, n_embd=768),
    "gpt2-medium": NanoGPTModelArgs(n_layer=24, n_head=16, n_embd=1024),
    "gpt2-large": NanoGPTModelArgs(n_layer=36, n_head=20, n_embd=1280),
    "gpt2-xl": NanoGPTModelArgs(n_layer=48, n_head=25, n_embd=1600),
}
RENAMED = {"baby": "shakespeare-cpu"}


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

    Lookups return a fresh `args_class` (a host adapter's subclass of the args, which the host
    updates from its run's settings): the registry itself is never rewritten. A renamed flavor
    keeps working under its old name for one release, with a warning.
    """

    def __init__(self, flavors: dict[str, NanoGPTModelArgs], renamed: dict[str, str] | None = None,
                 args_class: type[NanoGPTModelArgs] = NanoGPTModelArgs):
        super().__init__(flavors)
        self.renamed = renamed or {}
        self.args_class = args_class

    def __getitem__(self, flavor: str) -> NanoGPTModelArgs:
        if flavor in self.renamed:
            logger.warning(f"flavor {flavor!r} is now called {self.renamed[flavor]!r}; the old name goes in the next release")
            flavor = self.renamed[flavor]
        if flavor in self.keys():
            return self.args_class(**super().__getitem__(flavor).gpt_config())
        if "=" in flavor:
            return self.args_class.from_fields(_fields_of_spec(flavor), f"--model.flavor {flavor}")
        path = Path(flavor).expanduser()
        if path.is_dir() and (path / MODEL_ARGS_FILE).is_file():
            return self.args_class.from_json(path / MODEL_ARGS_FILE)
        if path.is_dir() and (path / HF_CONFIG_FILE).is_file():
            config = json.loads((path / HF_CONFIG_FILE).read_text())
            return self.args_class.from_fields(NanoGPTModelArgs.fields_from_hf_config(config), path / HF_CONFIG_FILE)
        if path.suffix == ".json" and path.is_file():
            return self.args_class.from_json(path)
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
