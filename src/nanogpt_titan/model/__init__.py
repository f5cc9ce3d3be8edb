"""nanoGPT's model and its named sizes (flavors), as torchtitan's `models/llama3/__init__.py`
registers its own."""

from nanogpt_titan.model.args import NanoGPTModelArgs
from nanogpt_titan.model.model import NanoGPT

__all__ = ["FLAVORS", "NanoGPT", "NanoGPTModelArgs"]

FLAVORS = {
    "debugmodel": NanoGPTModelArgs(n_layer=2, n_head=2, n_embd=64, block_size=64),
    # nanoGPT README's CPU recipe of the shakespeare-char config
    "shakespeare-cpu": NanoGPTModelArgs(n_layer=4, n_head=4, n_embd=128, block_size=64, bias=False),
    # config/train_shakespeare_char.py, the model nanoGPT's README calls "a baby GPT"
    "mini-gpt": NanoGPTModelArgs(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2, bias=False),
    "gpt2": NanoGPTModelArgs(n_layer=12, n_head=12, n_embd=768),
    "gpt2-medium": NanoGPTModelArgs(n_layer=24, n_head=16, n_embd=1024),
    "gpt2-large": NanoGPTModelArgs(n_layer=36, n_head=20, n_embd=1280),
    "gpt2-xl": NanoGPTModelArgs(n_layer=48, n_head=25, n_embd=1600),
}
