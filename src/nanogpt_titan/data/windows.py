"""Random windows of a split, drawn the way nanoGPT's `get_batch` draws them, in numbered
streams that resume exactly; and the seeds those streams (and dropout) derive from a run's."""

import hashlib

import torch
from torch.utils.data import IterableDataset

from nanogpt_titan.data.folder import TokenFile
from nanogpt_titan.errors import NanoGPTTitanError


def derived_seed(seed: int, purpose: str, index: int) -> int:
    """A seed for the `index`-th stream of `purpose` in the run seeded with `seed`: 32 bits of a
    hash, as torch's CPU generator keeps only the low 32 bits of a seed (`seed + k * 2**32` would
    repeat the run seed's stream)."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{purpose}/{index}".encode()).digest()[:4], "little")


def window_stream_seed(seed: int, stream: int) -> int:
    """Window stream 0 is the run seed's own, as nanoGPT draws; the others are derived from it."""
    return seed if stream == 0 else derived_seed(seed, "windows", stream)


class RandomBlockTokenDataset(IterableDataset):
    """Endless batches of random contiguous windows, drawn the way nanoGPT's `get_batch` does.

    Each batch draws `batch_size` starts uniformly from `[0, len(tokens) - seq_len)`;
    `x = tokens[i : i + seq_len]` and `y = tokens[i + 1 : i + 1 + seq_len]`. The starts come
    from numbered streams, each its own generator seeded by `window_stream_seed(seed, stream)`, taken
    in turn: with `streams=range(A)` batch `k` is stream `k % A`'s next. `state_dict()` /
    `load_state_dict()` resume the exact windows a checkpointed run would have drawn next.
    """

    def __init__(
        self,
        tokens: TokenFile,
        seq_len: int,
        batch_size: int,
        seed: int,
        streams: range = range(1),
        setting: str = "training.seq_len",
    ):
        if len(tokens) <= seq_len:
            raise NanoGPTTitanError(
                f"{tokens.path} holds {len(tokens):,} tokens, no window of {setting}={seq_len} plus its "
                f"shifted target; lower {setting} or use a longer text"
            )
        self.tokens = tokens
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.generators = [torch.Generator().manual_seed(window_stream_seed(seed, stream)) for stream in streams]
        self.next_stream = 0

    def __iter__(self):
        while True:
            generator = self.generators[self.next_stream]
            self.next_stream = (self.next_stream + 1) % len(self.generators)
            starts = torch.randint(len(self.tokens) - self.seq_len, (self.batch_size,), generator=generator)
            windows = self.tokens.windows(starts, self.seq_len + 1)
            yield {"input": windows[:, :-1]}, windows[:, 1:]

    def state_dict(self) -> dict:
        return {
            "generator_states": [generator.get_state() for generator in self.generators],
            "next_stream": self.next_stream,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        generator_states = state_dict["generator_states"]
        if len(generator_states) != len(self.generators):
            raise NanoGPTTitanError(
                f"the checkpoint holds {len(generator_states)} window streams per rank and this run draws from "
                f"{len(self.generators)}: resume with the saved batch settings, or start a new run from its "
                "weights (--checkpoint.initial_load_path)"
            )
        for generator, generator_state in zip(self.generators, generator_states):
            generator.set_state(generator_state)
        self.next_stream = state_dict["next_stream"]
