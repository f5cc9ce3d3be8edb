"""nanoGPT's GPT, built as torchtitan builds models.

The network is nanoGPT's, module for module: learned positions, pre-LayerNorm blocks, a fused
q/k/v projection, exact GELU, a head tied to the token embedding. Two things follow
torchtitan instead: the blocks live in `self.layers` (a ModuleDict keyed "0".."n-1", as
torchtitan's parallelisms expect), and every module initialises its own parameters in
`init_weights()`, because torchtitan builds the model on the meta device and initialises it
after `to_empty()`.
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributed.tensor import DTensor, distribute_tensor

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model.args import NanoGPTModelArgs

INIT_STD = 0.02


def copy_whole(parameter: torch.Tensor, full: torch.Tensor) -> None:
    """`full` into `parameter`, which FSDP may have sharded: each rank keeps its shard."""
    if isinstance(parameter, DTensor):
        local = parameter.to_local()
        full = distribute_tensor(full.to(local.device, local.dtype), parameter.device_mesh, parameter.placements)
    parameter.copy_(full)


def _init_normal(weight: torch.Tensor, std: float) -> None:
    """N(0, std²), drawn whole even when FSDP has sharded the weight: each rank keeps its shard
    of the same draw, so the initial weights are the same however many ranks share them."""
    if isinstance(weight, DTensor):
        copy_whole(
            weight, torch.empty(weight.shape, dtype=weight.dtype, device=weight.to_local().device).normal_(0.0, std)
        )
    else:
        nn.init.normal_(weight, mean=0.0, std=std)


def _init_linear(linear: nn.Linear, std: float) -> None:
    _init_normal(linear.weight, std)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)


class CausalSelfAttention(nn.Module):
    def __init__(self, model_args: NanoGPTModelArgs):
        super().__init__()
        self.n_head = model_args.n_head
        self.dropout = model_args.dropout
        self.c_attn = nn.Linear(model_args.n_embd, 3 * model_args.n_embd, bias=model_args.bias)
        self.c_proj = nn.Linear(model_args.n_embd, model_args.n_embd, bias=model_args.bias)
        self.resid_dropout = nn.Dropout(model_args.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq_len, width = x.shape
        q, k, v = (
            t.view(batch, seq_len, self.n_head, width // self.n_head).transpose(1, 2)
            for t in self.c_attn(x).split(width, dim=2)
        )
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(batch, seq_len, width)
        return self.resid_dropout(self.c_proj(y))

    def init_weights(self, residual_std: float) -> None:
        _init_linear(self.c_attn, INIT_STD)
        _init_linear(self.c_proj, residual_std)


class MLP(nn.Module):
    def __init__(self, model_args: NanoGPTModelArgs):
        super().__init__()
        self.c_fc = nn.Linear(model_args.n_embd, 4 * model_args.n_embd, bias=model_args.bias)
        self.c_proj = nn.Linear(4 * model_args.n_embd, model_args.n_embd, bias=model_args.bias)
        self.dropout = nn.Dropout(model_args.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))

    def init_weights(self, residual_std: float) -> None:
        _init_linear(self.c_fc, INIT_STD)
        _init_linear(self.c_proj, residual_std)


class Block(nn.Module):
    def __init__(self, model_args: NanoGPTModelArgs):
        super().__init__()
        self.ln_1 = nn.LayerNorm(model_args.n_embd, bias=model_args.bias)
        self.attn = CausalSelfAttention(model_args)
        self.ln_2 = nn.LayerNorm(model_args.n_embd, bias=model_args.bias)
        self.mlp = MLP(model_args)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))

    def init_weights(self, residual_std: float) -> None:
        self.ln_1.reset_parameters()
        self.ln_2.reset_parameters()
        self.attn.init_weights(residual_std)
        self.mlp.init_weights(residual_std)


class NanoGPT(nn.Module):
    """`initialise`, when given, draws the initial weights in `init_weights` (the run's randomness:
    `nanogpt_titan.randomness`); else GPT-2's init, module by module."""

    def __init__(self, model_args: NanoGPTModelArgs, initialise: Callable[[nn.Module], None] | None = None):
        super().__init__()
        self.model_args = model_args
        self.initialise = initialise
        self.wte = nn.Embedding(model_args.vocab_size, model_args.n_embd)
        self.wpe = nn.Embedding(model_args.block_size, model_args.n_embd)
        self.drop = nn.Dropout(model_args.dropout)
        self.layers = nn.ModuleDict({str(i): Block(model_args) for i in range(model_args.n_layer)})
        self.ln_f = nn.LayerNorm(model_args.n_embd, bias=model_args.bias)
        self.lm_head = nn.Linear(model_args.n_embd, model_args.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def init_weights(self, buffer_device: torch.device | None = None) -> None:
        # `to_empty()` gives each module a fresh parameter and so unties the head: tie it again.
        self.lm_head.weight = self.wte.weight
        if self.initialise is None:
            self.init_modules()
        else:
            self.initialise(self)

    def init_modules(self) -> None:
        """GPT-2's init, module by module, from the global generator."""
        _init_normal(self.wte.weight, INIT_STD)
        _init_normal(self.wpe.weight, INIT_STD)
        # GPT-2's scaled init of the projections that write into the residual stream.
        residual_std = INIT_STD / math.sqrt(2 * self.model_args.n_layer)
        for block in self.layers.values():
            block.init_weights(residual_std)
        self.ln_f.reset_parameters()

    def forward(self, tokens: torch.Tensor, last_position_only: bool = False) -> torch.Tensor:
        """Token ids (batch, seq_len) -> logits (batch, seq_len, vocab_size); of the last position
        alone (batch, 1, vocab_size) with `last_position_only`, as nanoGPT's inference does."""
        seq_len = tokens.shape[1]
        if seq_len > self.model_args.block_size:
            raise NanoGPTTitanError(
                f"sequence of {seq_len} tokens is longer than block_size={self.model_args.block_size}"
            )
        positions = torch.arange(seq_len, device=tokens.device)
        x = self.drop(self.wte(tokens) + self.wpe(positions))
        for block in self.layers.values():
            x = block(x)
        x = self.ln_f(x)
        return self.lm_head(x[:, -1:] if last_position_only else x)
