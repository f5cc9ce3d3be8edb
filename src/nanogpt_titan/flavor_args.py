"""The model args a `--model.flavor` names, on every host: a registered size (`FLAVORS`), the
args themselves (`n_layer=6,n_head=6,n_embd=384,block_size=256,dropout=0.2,bias=False`, the
others GPTConfig's defaults, as `nanogpt-titan train` gives a nanoGPT config), or a checkpoint's
folder (one `nanogpt-titan convert` wrote, a run's step, a Hugging Face GPT-2 folder), whose
model the checkpoint layer reads from its description, so that a checkpoint trains and
validates as it is; or a JSON file of the args (`NanoGPTModelArgs.to_json`)."""

import ast
from pathlib import Path

from nanogpt_titan.checkpoint.saved import described_model
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model import FLAVORS, NanoGPTModelArgs
from nanogpt_titan.model.args import MODEL_ARGS_FILE


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
            raise NanoGPTTitanError(
                f"--model.flavor {spec}: {item!r} is not name=value with a Python literal"
            ) from None
    return fields


class NanoGPTFlavors(dict[str, NanoGPTModelArgs]):
    """The registered flavors, looked up by any flavor: each lookup returns a fresh `args_class`
    (a host adapter's subclass of the args, which the host completes from its run's settings),
    so the registry itself is never rewritten."""

    def __init__(self, args_class: type[NanoGPTModelArgs] = NanoGPTModelArgs):
        super().__init__(FLAVORS)
        self.args_class = args_class

    def __getitem__(self, flavor: str) -> NanoGPTModelArgs:
        if flavor in self.keys():
            return self.args_class(**super().__getitem__(flavor).gpt_config())
        if "=" in flavor:
            return self.args_class.from_fields(_fields_of_spec(flavor), f"--model.flavor {flavor}")
        path = Path(flavor).expanduser()
        if path.suffix == ".json" and path.is_file():  # args saved by `NanoGPTModelArgs.to_json`
            return self.args_class.from_json(path)
        described = described_model(path) if path.is_dir() else None
        if described is None:
            raise UnknownFlavorError(
                f"unknown nanogpt flavor {flavor!r}: use one of {sorted(self.keys())}, the folder of a checkpoint "
                f"written by `nanogpt-titan convert` (it holds {MODEL_ARGS_FILE}), a Hugging Face GPT-2 folder, or "
                "the args themselves (n_layer=6,n_head=6,n_embd=384,block_size=256,dropout=0.2,bias=False)"
            )
        return self.args_class.from_fields(described, path)

    def get(self, flavor: str, default=None):
        try:
            return self[flavor]
        except UnknownFlavorError:
            return default
