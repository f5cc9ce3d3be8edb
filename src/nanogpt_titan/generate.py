"""nanoGPT's `GPT.generate`: autoregressive sampling with temperature and top-k."""

import math
from collections.abc import Callable

import torch
from torch import nn

from nanogpt_titan.errors import NanoGPTTitanError


@torch.no_grad()
def generate(
    model: nn.Module,
    ids: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    on_token: Callable[[], None] | None = None,
) -> torch.Tensor:
    """Extend `ids` (batch, length) by `max_new_tokens` sampled tokens, calling `on_token` after
    each (for progress), drawn from `generator` (default: the device's global one, as nanoGPT's).

    As nanoGPT's, the context fed to the model is cropped to its last `block_size` tokens, and
    only the last position's logits are computed.
    """
    if not 0 < temperature < math.inf:  # NaN fails this too
        raise NanoGPTTitanError(
            f"temperature={temperature} must be a finite number > 0 (lower is more conservative, e.g. 0.8)"
        )
    if top_k is not None and top_k < 1:
        raise NanoGPTTitanError(f"top_k={top_k} must be >= 1, or None to sample from the whole vocabulary")
    if max_new_tokens < 0:
        raise NanoGPTTitanError(f"max_new_tokens={max_new_tokens} must be >= 0")
    model.eval()
    block_size = model.model_args.block_size
    for _ in range(max_new_tokens):
        logits = model(ids[:, -block_size:], last_position_only=True)[:, -1, :] / temperature
        if top_k is not None:
            kth_largest = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
            logits = logits.masked_fill(logits < kth_largest, float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        next_ids = torch.multinomial(probs, num_samples=1, generator=generator)
        ids = torch.cat((ids, next_ids), dim=1)
        if on_token is not None:
            on_token()
    return ids
