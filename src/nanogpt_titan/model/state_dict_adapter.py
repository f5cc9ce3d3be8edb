"""Hugging Face GPT-2 layout <-> this model, for torchtitan's own switches:
`--checkpoint.initial_load_in_hf` (train or validate from a `GPT2LMHeadModel` folder as it is)
and `--checkpoint.last_save_in_hf` (end a run with a safetensors file in that layout).

The names and the Conv1D transposes are the package's one mapping
(`nanogpt_titan.checkpoint.mapping`). The tied head is stored once, under the token
embedding's name, as transformers saves it.
"""

from torchtitan.protocols.state_dict_adapter import StateDictAdapter

from nanogpt_titan.checkpoint.mapping import from_hf_gpt2, to_hf_gpt2
from nanogpt_titan.model.args import NanoGPTModelArgs

TIED_HEAD = "lm_head.weight"


class NanoGPTStateDictAdapter(StateDictAdapter):
    def __init__(self, model_args: NanoGPTModelArgs, hf_assets_path: str | None):
        # One model.safetensors file: no index to read (torchtitan's base class would look for
        # one at model.hf_assets_path, and warn on every run that does not use it).
        self.model_args = model_args
        self.hf_assets_path = hf_assets_path
        self.fqn_to_index_mapping = None

    def to_hf(self, state_dict: dict) -> dict:
        return {name: tensor for name, tensor in to_hf_gpt2(state_dict).items() if name != TIED_HEAD}

    def from_hf(self, hf_state_dict: dict) -> dict:
        return from_hf_gpt2(hf_state_dict)  # both tied names again
