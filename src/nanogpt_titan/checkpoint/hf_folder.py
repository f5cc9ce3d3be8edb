"""A Hugging Face model folder: its config.json says how the weights are laid out.

| config.json                                              | weights                                   |
|----------------------------------------------------------|-------------------------------------------|
| `model_type: "gpt2"` (transformers' `GPT2LMHeadModel`)    | GPT-2's: Conv1D projections, `(in, out)`  |
| `model_type: "nanoGPT"`, or nanoGPT's own `block_size`   | nanoGPT's state dict: Linear, `(out, in)` |

The layout is read from the config, never guessed from shapes (`c_proj` is square). Files
spell the names with or without `transformer.` (transformers' `GPT2Model` saves without), and
store the tied head under the embedding's name, under `lm_head.weight`, or under both.
"""

import json
from collections.abc import Callable, Collection
from pathlib import Path

from safetensors import SafetensorError, safe_open

from nanogpt_titan.checkpoint.mapping import StateDict, from_hf_gpt2, from_nanogpt, to_hf_gpt2, to_nanogpt
from nanogpt_titan.errors import CheckpointError
from nanogpt_titan.model.args import HF_CONFIG_FILE

HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TRANSFORMER_PREFIX = "transformer."
TIED_HEAD, TIED_EMBEDDING = "lm_head.weight", "transformer.wte.weight"
# A layout's mappings: (ours -> the folder's names and shapes, the folder's -> ours).
LAYOUTS: dict[str, tuple[Callable[[StateDict], StateDict], Callable[[StateDict], StateDict]]] = {
    "gpt2": (to_hf_gpt2, from_hf_gpt2),
    "nanogpt": (to_nanogpt, from_nanogpt),
}


def read_config(folder: Path) -> dict:
    path = folder / HF_CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not a readable JSON file: {error}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} holds a JSON {type(config).__name__}, not a model config (an object)")
    return config


def layout(folder: Path) -> str:
    """ "gpt2" or "nanogpt", as the folder's config.json says; anything else is refused by name."""
    config = read_config(folder)
    model_type = str(config.get("model_type", "")).lower()
    if model_type == "gpt2":
        return "gpt2"
    if model_type == "nanogpt" or "block_size" in config:
        return "nanogpt"
    raise CheckpointError(
        f"{folder / HF_CONFIG_FILE} describes neither GPT-2 (model_type 'gpt2') nor a nanoGPT model (model_type "
        f"'nanoGPT', or nanoGPT's block_size), so the layout of its weights is unknown (model_type="
        f"{config.get('model_type')!r})"
    )


def stored_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in the folder's safetensors files, read from their headers."""
    shapes = {}
    for file in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(file, framework="pt") as opened:
                shapes |= {name: tuple(opened.get_slice(name).get_shape()) for name in opened.keys()}
        except (SafetensorError, OSError) as error:
            raise CheckpointError(
                f"{file} is not a readable safetensors file (truncated or corrupt?): {error}"
            ) from None
    return shapes


def _spelled(name: str, stored: Collection[str]) -> str:
    short = name.removeprefix(TRANSFORMER_PREFIX)
    return short if name not in stored and short in stored else name


def as_stored(theirs: StateDict, stored: Collection[str]) -> StateDict:
    """`theirs` (both tied names, `transformer.` names) under the names a folder stores. With
    nothing known of the folder, the tied head goes under the embedding's name alone, as
    transformers saves it."""
    spelled = {_spelled(name, stored): tensor for name, tensor in theirs.items()}
    embedding = _spelled(TIED_EMBEDDING, stored)
    if TIED_HEAD in stored and embedding not in stored:
        del spelled[embedding]
    elif TIED_HEAD not in stored:
        del spelled[TIED_HEAD]
    return spelled
