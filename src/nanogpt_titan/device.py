"""The torch device a command names, refused in one line if this machine has none such."""

from nanogpt_titan.errors import NanoGPTTitanError


def torch_device(name: str, flag: str = "--device "):
    """`flag`: how the command spells the setting, before its value ("--device=" for nanoGPT's)."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise NanoGPTTitanError(f"{flag}{name} is not a torch device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NanoGPTTitanError(f"{flag}{name}: this machine has no CUDA device; pass {flag}cpu")
    return device
