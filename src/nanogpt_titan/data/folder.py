"""A nanoGPT data folder, read as nanoGPT's `train.py` reads it (its files: `folder_format`).

`meta.pkl` holds a character vocabulary; without it the ids are GPT-2 BPE. The splits are
memory-mapped, never loaded: a process's memory does not grow with the corpus, and the ranks
of a node share the page cache.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nanogpt_titan.data.folder_format import META_FILE, SPLIT_FILES, TOKEN_DTYPE
from nanogpt_titan.data.vocabulary import GPT2Vocabulary, Vocabulary, read_meta
from nanogpt_titan.errors import NanoGPTTitanError


@dataclass(frozen=True)
class TokenFile:
    """One split: token ids read through a fresh memory map for every read, as nanoGPT's
    `get_batch` does (closing the map releases the pages the read touched from the process),
    each id checked against `id_limit` before it leaves, so that a wrong folder is one line
    here and never a device-side assert in an embedding."""

    path: Path
    id_limit: int
    length: int = field(init=False)

    def __post_init__(self):
        if not self.path.is_file():
            raise NanoGPTTitanError(
                f"{self.path} does not exist: a nanoGPT data folder holds train.bin and val.bin "
                "(`nanogpt-titan prepare` or nanoGPT's data/*/prepare.py write them)"
            )
        size = self.path.stat().st_size
        if size % TOKEN_DTYPE.itemsize:
            raise NanoGPTTitanError(
                f"{self.path} is {size:,} bytes, an odd size for uint16 token ids: truncated or not a nanoGPT "
                "split; prepare it again"
            )
        object.__setattr__(self, "length", size // TOKEN_DTYPE.itemsize)

    def __len__(self) -> int:
        return self.length

    def windows(self, starts: torch.Tensor, width: int) -> torch.Tensor:
        """`tokens[s : s + width]` for each start `s`, as a (len(starts), width) int64 tensor."""
        offsets = starts.numpy()[:, None] + np.arange(width)
        return self._checked(self._memmap()[offsets], offsets)

    def read(self, start: int, stop: int) -> torch.Tensor:
        """`tokens[start:stop]` as an int64 tensor."""
        return self._checked(np.array(self._memmap()[start:stop]), np.arange(start, stop))

    def _memmap(self) -> np.memmap:
        return np.memmap(self.path, dtype=TOKEN_DTYPE, mode="r")

    def _checked(self, ids: np.ndarray, offsets: np.ndarray) -> torch.Tensor:
        beyond = ids >= self.id_limit
        if beyond.any():
            first = np.argmax(beyond, axis=None)
            raise NanoGPTTitanError(
                f"{self.path}: token id {ids.flat[first]} at offset {offsets.flat[first]:,} is not below the "
                f"vocabulary's {self.id_limit:,} ids: the ids do not belong to the folder's vocabulary (meta.pkl's "
                "characters, or GPT-2's BPE without one); prepare the folder again"
            )
        return torch.from_numpy(ids.astype(np.int64))


@dataclass(frozen=True)
class DataFolder:
    """`path`'s splits and vocabulary: `meta.pkl`'s characters, else GPT-2's BPE."""

    path: Path
    vocabulary: Vocabulary = field(init=False)

    def __post_init__(self):
        if not self.path.is_dir():
            raise NanoGPTTitanError(
                f"{self.path} is not a folder: name a nanoGPT data folder (train.bin, val.bin and, for characters, "
                "meta.pkl), e.g. one `nanogpt-titan prepare` writes"
            )
        meta = self.path / META_FILE
        object.__setattr__(self, "vocabulary", read_meta(meta) if meta.is_file() else GPT2Vocabulary())

    def split(self, name: str) -> TokenFile:
        """ "train" or "val"."""
        return TokenFile(self.path / SPLIT_FILES[name], self.vocabulary.id_limit)
