from nanogpt_titan.model.args import NanoGPTModelArgs
from nanogpt_titan.model.model import NanoGPT

__all__ = ["NanoGPT", "NanoGPTModelArgs"]
