"""What saved checkpoints say without loading their weights: a run's complete steps, the model
and vocabulary a folder's description records, the shapes and data-parallel ranks a DCP step
holds."""

import json
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch.distributed.checkpoint as dcp

from nanogpt_titan.checkpoint import hf_folder
from nanogpt_titan.data.vocabulary import Vocabulary, vocabulary_from_json
from nanogpt_titan.model.args import HF_CONFIG_FILE, MODEL_ARGS_FILE, VOCABULARY_FILE, NanoGPTModelArgs

RUN_CHECKPOINTS = "checkpoint"  # torchtitan's checkpoint.folder inside a run's dump folder
MODEL_KEY_ROOTS = ("wte.", "wpe.", "layers.", "ln_f.", "lm_head.")


@contextmanager
def single_process_dcp() -> Iterator[None]:
    """DCP warns that it runs without a process group; here that is the intent."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield


def saved_steps(checkpoints: Path) -> dict[int, Path]:
    """The complete `step-N` DCP folders in `checkpoints`, by step: as torchtitan's own search,
    those with DCP's `.metadata`, which a save interrupted by a kill never wrote."""
    return {
        int(folder.name.removeprefix("step-")): folder
        for folder in checkpoints.glob("step-*")
        if folder.name.removeprefix("step-").isdigit() and (folder / ".metadata").is_file()
    }


def described_model(folder: Path) -> dict | None:
    """The GPTConfig fields a checkpoint folder's description records: `model_args.json` in it or,
    for a run's `step-N`, in the run's folder; a Hugging Face folder's config.json. None: none."""
    folder = Path(folder)
    for described_in in (folder, folder.parent.parent if folder.parent.name == RUN_CHECKPOINTS else None):
        if described_in is not None and (described_in / MODEL_ARGS_FILE).is_file():
            return NanoGPTModelArgs.from_json(described_in / MODEL_ARGS_FILE).gpt_config()
    if (folder / HF_CONFIG_FILE).is_file():
        return NanoGPTModelArgs.fields_from_hf_config(hf_folder.read_config(folder))
    return None


def saved_model_shapes(step_folder: Path) -> dict[str, tuple[int, ...]]:
    """The shapes of the model's tensors a DCP folder holds, read from its metadata."""
    metadata = dcp.FileSystemReader(step_folder).read_metadata().state_dict_metadata
    return {
        name: tuple(meta.size)
        for name, meta in metadata.items()
        if name.startswith(MODEL_KEY_ROOTS) and hasattr(meta, "size")
    }


def saved_data_parallel_ranks(step_folder: Path) -> int:
    """How many data-parallel ranks saved their dataloader state in a Trainer's `step-N` (0: none
    did), each under `dataloader.dp_rank_<r>` (one key, or the keys of its state's parts)."""
    keys = dcp.FileSystemReader(step_folder).read_metadata().state_dict_metadata
    return len({match[1] for key in keys if (match := re.match(r"dataloader\.dp_rank_(\d+)", key))})


def read_vocabulary(folder: Path) -> Vocabulary | None:
    """The vocabulary a `vocabulary.json` in `folder` records; None without one."""
    path = folder / VOCABULARY_FILE
    if not path.is_file():
        return None
    return vocabulary_from_json(json.loads(path.read_text(encoding="utf-8")), path)
