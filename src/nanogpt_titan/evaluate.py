"""Validation loss of a model outside the Trainer: nanoGPT's estimate, and the exact value.

nanoGPT's `estimate_loss` averages `eval_iters` random batches of `block_size` windows; the
exact loss averages every token of the split, cut into non-overlapping windows.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from nanogpt_titan.data.folder import TokenFile
from nanogpt_titan.data.windows import RandomBlockTokenDataset
from nanogpt_titan.errors import NanoGPTTitanError

if TYPE_CHECKING:
    from nanogpt_titan.checkpoint import Checkpoint

Batch = tuple[torch.Tensor, torch.Tensor]


def random_batches(
    tokens: TokenFile, block_size: int, batch_size: int, eval_iters: int, seed: int, setting: str = "--block-size"
) -> Iterator[Batch]:
    """nanoGPT's `get_batch` drawn `eval_iters` times from a generator seeded with `seed`;
    `setting` names the knob that sets `block_size`, for the error a too-short split gets."""
    dataset = RandomBlockTokenDataset(tokens, block_size, batch_size, seed, setting=setting)
    return ((inputs["input"], targets) for inputs, targets in islice(dataset, eval_iters))


@dataclass(frozen=True)
class WindowBatches:
    """Every non-overlapping window `tokens[i*T : (i+1)*T]` whose shifted target fits, in batches
    of `batch_size` windows, each read from the split when it is asked for."""

    tokens: TokenFile
    block_size: int
    batch_size: int
    n_windows: int

    def __len__(self) -> int:
        return -(-self.n_windows // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        for first in range(0, self.n_windows, self.batch_size):
            count = min(self.batch_size, self.n_windows - first)
            ids = self.tokens.read(first * self.block_size, (first + count) * self.block_size + 1)
            yield ids[:-1].view(count, self.block_size), ids[1:].view(count, self.block_size)


def window_batches(tokens: TokenFile, block_size: int, batch_size: int, setting: str = "--block-size") -> WindowBatches:
    n_windows = (len(tokens) - 1) // block_size
    if n_windows == 0:
        raise NanoGPTTitanError(
            f"{tokens.path} holds {len(tokens):,} tokens, no window of {setting}={block_size} plus its target; "
            f"lower {setting}"
        )
    return WindowBatches(tokens, block_size, batch_size, n_windows)


@torch.no_grad()
def mean_loss(
    model: nn.Module,
    batches: Iterable[Batch],
    autocast: AbstractContextManager = nullcontext(),
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> float:
    """Mean cross entropy per token over `batches`, in eval mode; the logits are `forward`'s
    (default: the model called as a module, hooks and all).

    The one loss evaluation of the package (the validator's and `nanogpt-titan evaluate`'s):
    summed in float64 on the model's device and read back once, so every token weighs the
    same whatever the batch sizes. The model's train/eval mode is restored afterwards.
    """
    forward = model if forward is None else forward
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    loss_sum, n_tokens = torch.zeros((), dtype=torch.float64, device=device), 0
    for inputs, targets in batches:
        with autocast:
            logits = forward(inputs.to(device))
        loss_sum += F.cross_entropy(logits.flatten(0, 1).float(), targets.to(device).flatten(), reduction="sum")
        n_tokens += targets.numel()
    model.train(was_training)
    return (loss_sum / n_tokens).item()


def evaluate_checkpoint(
    read: Callable[[], "Checkpoint"],
    data: str | None,
    device: str,
    block_size: int | None,
    batch_size: int,
    eval_iters: int,
    seed: int,
) -> None:
    """`nanogpt-titan evaluate`: the checkpoint `read` gives (read once the device is known to
    be good), on the validation split of `data`, in windows of `block_size` (default: the
    model's)."""
    from nanogpt_titan.device import torch_device

    device = torch_device(device)
    checkpoint = read()
    block_size = block_size or checkpoint.args.block_size
    if not 0 < block_size <= checkpoint.args.block_size:
        raise NanoGPTTitanError(
            f"--block-size {block_size} must be in [1, {checkpoint.args.block_size}] (the model's block_size)"
        )
    tokens = checkpoint.data_folder(data).split("val")
    report(checkpoint.build_model(device), tokens, block_size, batch_size, eval_iters, seed)


def report(model: nn.Module, tokens: TokenFile, block_size: int, batch_size: int, eval_iters: int, seed: int) -> None:
    """Print nanoGPT's estimate of the validation loss (`eval_iters` random batches from
    `seed`), then the exact value; progress on stderr."""
    from nanogpt_titan.progress import progress

    estimate = random_batches(tokens, block_size, batch_size, eval_iters, seed)
    print(f"val loss {mean_loss(model, progress(estimate, eval_iters, 'estimate', 'batches')):.4f}")
    windows = window_batches(tokens, block_size, batch_size)
    exact = mean_loss(model, progress(windows, len(windows), "exact", "batches"))
    print(f"exact val loss {exact:.4f} ({windows.n_windows} windows of {block_size} tokens)")
