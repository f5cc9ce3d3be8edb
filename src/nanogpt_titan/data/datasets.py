"""The datasets a run names, and the batch layout every host shares.

| dataset                                                  | dataset_path                                 |
|-----------------------------------------------------------|----------------------------------------------|
| `nanogpt_train`, `nanogpt_validation`                     | a nanoGPT data folder (nanoGPT's `data/X/`)  |
| `shakespeare_char_train`, `shakespeare_char_validation`   | a text file (default: tiny Shakespeare), prepared once into a character data folder in the cache |

Either way the splits are the folder's `train.bin` and `val.bin`, memory-mapped. Each host
keeps `dataset` and `dataset_path` in its own section (`training` on torchtitan 0.2,
`dataloader` on 0.3): errors name the settings as the user wrote them.
"""

from dataclasses import dataclass
from pathlib import Path

from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.data.text import data_folder
from nanogpt_titan.errors import NanoGPTTitanError

# Dataset name -> the folder's split it reads; the nanogpt_* names read a data folder only.
SPLITS = {
    "nanogpt_train": "train",
    "nanogpt_validation": "val",
    "shakespeare_char_train": "train",
    "shakespeare_char_validation": "val",
}
FOLDER_DATASETS = ("nanogpt_train", "nanogpt_validation")


def dataset_split(dataset_name: str, section: str = "training") -> str:
    """The split dataset `dataset_name` reads (`section`: where the host keeps the setting)."""
    if dataset_name not in SPLITS:
        raise NanoGPTTitanError(
            f"Unknown dataset {dataset_name!r} for the nanogpt model; use one of {sorted(SPLITS)} "
            f"(e.g. --{section}.dataset nanogpt_train --{section}.dataset_path data/shakespeare_char)"
        )
    return SPLITS[dataset_name]


def dataset_folder(dataset_name: str, path: str | None, section: str) -> DataFolder:
    """The data folder that dataset `dataset_name` reads from `path`, the settings
    `<section>.dataset` and `<section>.dataset_path`."""
    dataset_split(dataset_name, section)  # an unknown name is refused first
    if dataset_name in FOLDER_DATASETS and not (path and Path(path).is_dir()):
        raise NanoGPTTitanError(
            f"{section}.dataset={dataset_name!r} reads a nanoGPT data folder, and {section}.dataset_path={path!r} "
            f"names none: pass --{section}.dataset_path data/<dataset> (train.bin, val.bin; `nanogpt-titan prepare` "
            "writes one)"
        )
    return data_folder(path, f"--{section}.dataset_path")


@dataclass(frozen=True)
class BatchShape:
    batch_size: int  # windows per micro-batch
    seq_len: int  # tokens per window


@dataclass(frozen=True)
class BatchSettings:
    """A run's batches in windows, whatever its host counts them in (windows or tokens), named
    in messages as torchtitan 0.2 names them."""

    local_batch_size: int  # windows per micro-batch and rank
    seq_len: int
    global_batch_size: int  # windows per step over all ranks; -1: one micro-batch per rank

    @property
    def shape(self) -> BatchShape:
        return BatchShape(self.local_batch_size, self.seq_len)

    def micro_batches(self, dp_world_size: int) -> int:
        """Micro-batches per rank and step."""
        return accumulation_steps(self.local_batch_size, self.global_batch_size, dp_world_size)


def accumulation_steps(local_batch_size: int, global_batch_size: int, dp_world_size: int) -> int:
    """Micro-batches per rank and step, as torchtitan's Trainer computes them (a global batch
    of -1 is one micro-batch per rank)."""
    per_micro_batch = local_batch_size * dp_world_size
    global_batch_size = per_micro_batch if global_batch_size < 0 else global_batch_size
    if global_batch_size == 0:
        raise NanoGPTTitanError(
            "training.global_batch_size=0: set a multiple of training.local_batch_size times the data-parallel "
            "ranks, or -1 for one micro-batch per rank"
        )
    if global_batch_size % per_micro_batch:
        same_run = global_batch_size // dp_world_size
        hint = (
            f"; --training.local_batch_size {same_run} keeps this global batch"
            if global_batch_size % dp_world_size == 0
            else ""
        )
        raise NanoGPTTitanError(
            f"training.global_batch_size={global_batch_size} is not a multiple of training.local_batch_size="
            f"{local_batch_size} times the {dp_world_size} data-parallel ranks{hint}"
        )
    return global_batch_size // per_micro_batch
