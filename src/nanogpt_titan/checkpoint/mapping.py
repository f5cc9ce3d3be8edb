"""The one weight mapping between nanoGPT, this package and Hugging Face GPT-2.

| nanoGPT / HF GPT-2                 | nanogpt_titan          |
|------------------------------------|------------------------|
| `transformer.wte.weight`           | `wte.weight`           |
| `transformer.wpe.weight`           | `wpe.weight`           |
| `transformer.h.{i}.<rest>`         | `layers.{i}.<rest>`    |
| `transformer.ln_f.<rest>`          | `ln_f.<rest>`          |
| `lm_head.weight` (tied to wte)     | `lm_head.weight` (tied)|

nanoGPT checkpoints saved from a compiled model prefix every key with `_orig_mod.`; HF GPT-2
stores the four projection matrices as `Conv1D` weights, i.e. transposed `(in, out)`.
"""

import torch

COMPILED_PREFIX = "_orig_mod."
CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
# Causal-mask buffers that nanoGPT (without flash attention) and older HF versions save.
MASK_BUFFERS = (".attn.bias", ".attn.masked_bias")

StateDict = dict[str, torch.Tensor]


def _ours(nanogpt_name: str) -> str:
    name = nanogpt_name.removeprefix("transformer.")
    return "layers." + name.removeprefix("h.") if name.startswith("h.") else name


def _nanogpt(our_name: str) -> str:
    if our_name == "lm_head.weight":
        return our_name
    if our_name.startswith("layers."):
        return "transformer.h." + our_name.removeprefix("layers.")
    return "transformer." + our_name


def from_nanogpt(state_dict: StateDict) -> StateDict:
    """nanoGPT state dict (compiled or not, head stored once or twice) -> ours, both tied names."""
    ours = {
        _ours(name.removeprefix(COMPILED_PREFIX)): tensor
        for name, tensor in state_dict.items()
        if not name.endswith(MASK_BUFFERS)
    }
    for name, tied_name in (("wte.weight", "lm_head.weight"), ("lm_head.weight", "wte.weight")):
        if name in ours:  # a tied matrix saved once (safetensors keeps one of shared names)
            ours.setdefault(tied_name, ours[name])
    return ours


def to_nanogpt(state_dict: StateDict) -> StateDict:
    """Our state dict -> nanoGPT's names, both tied names kept as nanoGPT's own `state_dict()` does."""
    return {_nanogpt(name): tensor for name, tensor in state_dict.items()}


def _transpose_conv1d(state_dict: StateDict) -> StateDict:
    return {name: tensor.t() if name.endswith(CONV1D_WEIGHTS) else tensor for name, tensor in state_dict.items()}


def from_hf_gpt2(state_dict: StateDict) -> StateDict:
    """Hugging Face `GPT2LMHeadModel` state dict -> ours."""
    return from_nanogpt(_transpose_conv1d(state_dict))


def to_hf_gpt2(state_dict: StateDict) -> StateDict:
    """Our state dict -> Hugging Face `GPT2LMHeadModel` names and Conv1D layout, each tensor
    contiguous (as safetensors stores them)."""
    return {name: tensor.contiguous() for name, tensor in _transpose_conv1d(to_nanogpt(state_dict)).items()}
