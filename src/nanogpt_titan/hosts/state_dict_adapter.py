"""Hugging Face folders <-> this model, for torchtitan's own switches, the same in 0.2 and 0.3:
`--checkpoint.initial_load_in_hf` (train or validate from a Hugging Face folder as it is) and
`--checkpoint.last_save_in_hf` (end a run with a safetensors file in that layout).

The hf_assets_path setting (0.2: `model.hf_assets_path`; 0.3: `hf_assets_path`) names the
model's Hugging Face folder, and its config.json the layout
(`nanogpt_titan.checkpoint.hf_folder`): GPT-2's (`GPT2LMHeadModel`, and the default when the
folder has no config), or a nanoGPT model's. The names are the package's one mapping
(`nanogpt_titan.checkpoint.mapping`), spelled as the folder's files store them; a folder
torchtitan cannot read as this model is refused in one line before anything is read.
"""

from pathlib import Path

import torch
from torch.distributed.checkpoint import HuggingFaceStorageReader
from torchtitan.protocols.state_dict_adapter import StateDictAdapter

from nanogpt_titan.checkpoint import hf_folder
from nanogpt_titan.errors import CheckpointError
from nanogpt_titan.hosts import override_arguments
from nanogpt_titan.model.args import HF_CONFIG_FILE, NanoGPTModelArgs
from nanogpt_titan.model.model import NanoGPT

LISTED_KEYS = 4


class NanoGPTStateDictAdapter(StateDictAdapter):
    def __init__(self, model: NanoGPTModelArgs, hf_assets_path: str | None):
        """`model`: the model's args (as torchtitan 0.2 passes them), or its Config (0.3), which holds them."""
        # One model.safetensors file: no index to read (torchtitan's base class would look for
        # one at the hf_assets_path, and warn on every run that does not use it).
        self.model_args = getattr(model, "args", model)
        self.hf_assets_path = hf_assets_path
        self.fqn_to_index_mapping = None

    def folder_layout(self) -> str:
        """The layout the hf_assets_path's config.json names (GPT-2's without one), read when a
        run loads or saves in Hugging Face's format, never when the adapter is merely built."""
        if not self.hf_assets_path or not (Path(self.hf_assets_path) / HF_CONFIG_FILE).is_file():
            return "gpt2"
        return hf_folder.layout(Path(self.hf_assets_path))

    def to_hf(self, state_dict: dict) -> dict:
        to_theirs, _ = hf_folder.LAYOUTS[self.folder_layout()]
        stored = hf_folder.stored_shapes(Path(self.hf_assets_path)) if self.hf_assets_path else {}
        return hf_folder.as_stored(to_theirs(state_dict), stored)

    def from_hf(self, hf_state_dict: dict) -> dict:
        _, to_ours = hf_folder.LAYOUTS[self.folder_layout()]
        return to_ours(hf_state_dict)  # both tied names again

    def get_hf_storage_reader(self, path: str, from_quantized: bool = False) -> HuggingFaceStorageReader:
        """torchtitan's reader of the folder, once the folder is known to hold this model's
        weights under the names and shapes `to_hf` asks for."""
        folder = Path(path)
        files, stored = sorted(folder.glob("*.safetensors")), hf_folder.stored_shapes(folder)
        if not files:
            pickled = folder / "pytorch_model.bin"
            raise CheckpointError(
                _convert_instead(
                    folder, f"{pickled} is a pickle" if pickled.is_file() else f"{folder} holds no weights file"
                )
            )
        with torch.device("meta"):
            expected = {name: tuple(t.shape) for name, t in self.to_hf(NanoGPT(self.model_args).state_dict()).items()}
        wrong = [
            f"{name} {stored.get(name, 'missing')} (expected {shape})"
            for name, shape in expected.items()
            if stored.get(name) != shape
        ]
        if wrong:
            raise CheckpointError(
                _convert_instead(
                    folder,
                    f"{', '.join(str(file) for file in files)} do not hold {self.model_args} in the "
                    f"{self.folder_layout()} layout that {self.hf_assets_path}/{HF_CONFIG_FILE} names "
                    f"({override_arguments({'model.hf_assets_path': '.'})[0]}): {'; '.join(wrong[:LISTED_KEYS])}",
                )
            )
        return HuggingFaceStorageReader(str(folder))


def _convert_instead(folder: Path, problem: str) -> str:
    return (
        f"{problem}, and torchtitan's --checkpoint.initial_load_in_hf reads this model's .safetensors only: "
        f"convert the folder instead, nanogpt-titan convert {folder} DST, then load DST with "
        "--checkpoint.initial_load_path DST (without --checkpoint.initial_load_in_hf)"
    )
