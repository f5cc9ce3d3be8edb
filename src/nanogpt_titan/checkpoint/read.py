"""Read any supported checkpoint into our state dict and model args, or fail saying why.

| SRC                                              | model args from            |
|--------------------------------------------------|----------------------------|
| a training run's dump folder (its latest step)    | the run's `model_args.json`|
| nanoGPT's out_dir (its `ckpt.pt`)                 | its `model_args`           |
| DCP folder (`.metadata`; ours or a Trainer's)     | `model_args.json`, shapes  |
| Hugging Face folder (`config.json` + weights)    | `config.json`, shapes      |
| nanoGPT `ckpt.pt` (a dict with `model`, ...)     | its `model_args`           |
| bare state dict (`.pt`/`.bin`/`.safetensors`)   | shapes                     |

Shapes give everything but the head count, which the caller passes as `n_head` when the
source does not record it. A char model's vocabulary comes from `vocabulary.json` beside the
model args (our checkpoints and runs write it) or from a nanoGPT `meta.pkl` beside a `ckpt.pt`.
"""

import pickle
import sys
import zipfile
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch.distributed.checkpoint.api import CheckpointException

from nanogpt_titan.checkpoint import hf_folder
from nanogpt_titan.checkpoint.hf_folder import HF_WEIGHT_FILES
from nanogpt_titan.checkpoint.mapping import StateDict, from_nanogpt
from nanogpt_titan.checkpoint.saved import (
    MODEL_KEY_ROOTS,
    RUN_CHECKPOINTS,
    read_vocabulary,
    saved_steps,
    single_process_dcp,
)
from nanogpt_titan.checkpoint.weights import Checkpoint, bare_state_dict_mapping, fitted_checkpoint
from nanogpt_titan.data.folder_format import META_FILE
from nanogpt_titan.data.vocabulary import read_meta
from nanogpt_titan.errors import CheckpointError
from nanogpt_titan.model import NanoGPTModelArgs
from nanogpt_titan.model.args import HF_CONFIG_FILE, MODEL_ARGS_FILE

NANOGPT_CKPT = "ckpt.pt"  # inside nanoGPT's out_dir


def read_checkpoint(path: str | Path, n_head: int | None = None, trust_pickle: bool = False) -> Checkpoint:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or folder")
    if path.is_dir() and (path / NANOGPT_CKPT).is_file() and not (path / RUN_CHECKPOINTS).is_dir():
        path = path / NANOGPT_CKPT  # nanoGPT's out_dir
    if path.is_dir():
        if (path / RUN_CHECKPOINTS).is_dir():
            return _read_run(path, n_head)
        if (path / ".metadata").is_file():
            return _read_dcp(path, n_head)
        if (path / HF_CONFIG_FILE).is_file():
            return _read_hf_folder(path, n_head)
        raise CheckpointError(
            f"{path} is a folder with neither .metadata (a DCP checkpoint) nor config.json (a Hugging Face model)"
        )
    if path.suffix == ".safetensors":
        tensors = _load_safetensors(path)
        return fitted_checkpoint(tensors, bare_state_dict_mapping(tensors), {"n_head": n_head}, f"state dict {path}")
    loaded = _torch_load(path, trust_pickle)
    if isinstance(loaded, dict) and isinstance(loaded.get("model"), dict):
        if not isinstance(loaded.get("model_args"), dict):
            raise CheckpointError(f"{path} has a 'model' entry but no 'model_args': not a nanoGPT ckpt.pt")
        known = {"n_head": n_head, **loaded["model_args"]}
        checkpoint = fitted_checkpoint(loaded["model"], from_nanogpt, known, f"nanoGPT checkpoint {path}")
        meta = path.parent / META_FILE  # nanoGPT's data/<dataset>/meta.pkl, copied beside the ckpt.pt
        checkpoint.vocabulary = read_meta(meta) if meta.is_file() else None
        checkpoint.step = int(loaded.get("iter_num", 0))
        config = loaded.get("config")
        checkpoint.dataset = config.get("dataset") if isinstance(config, dict) else None
        return checkpoint
    if isinstance(loaded, dict) and loaded and all(isinstance(t, torch.Tensor) for t in loaded.values()):
        return fitted_checkpoint(loaded, bare_state_dict_mapping(loaded), {"n_head": n_head}, f"state dict {path}")
    raise CheckpointError(
        f"{path} is neither a nanoGPT ckpt.pt (a dict with 'model' and 'model_args') nor a state "
        f"dict of tensors (it holds a {type(loaded).__name__})"
    )


def read_reported(path: str | Path, n_head: int | None = None, trust_pickle: bool = False) -> Checkpoint:
    """`read_checkpoint`, saying on stderr what was read and any caveat."""
    checkpoint = read_checkpoint(path, n_head, trust_pickle)
    print(f"read {checkpoint.source}: {checkpoint.args}", file=sys.stderr)
    for note in checkpoint.notes:
        print(f"note: {note}", file=sys.stderr)
    return checkpoint


def _torch_load(path: Path, trust_pickle: bool):
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive, ending in its directory
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint (no zip archive as torch.save writes: "
            "truncated, corrupt, or another format)"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path} holds Python objects that torch.load(weights_only=True) refuses to unpickle; "
            "if you trust the file, pass --trust-pickle to load it with full unpickling"
        ) from None
    except (RuntimeError, EOFError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (corrupt?): {error}") from None


def _load_safetensors(path: Path) -> StateDict:
    try:
        return load_file(path)
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or corrupt?): {error}") from None


def _read_hf_folder(folder: Path, n_head: int | None) -> Checkpoint:
    config = hf_folder.read_config(folder)
    _, to_ours = hf_folder.LAYOUTS[hf_folder.layout(folder)]
    known = {"n_head": n_head, **NanoGPTModelArgs.fields_from_hf_config(config)}
    weight_file = next((folder / name for name in HF_WEIGHT_FILES if (folder / name).is_file()), None)
    if weight_file is None:
        raise CheckpointError(f"{folder} has config.json but none of {HF_WEIGHT_FILES}")
    tensors = (
        _load_safetensors(weight_file) if weight_file.suffix == ".safetensors" else _torch_load(weight_file, False)
    )
    checkpoint = fitted_checkpoint(tensors, to_ours, known, f"Hugging Face model {folder}")
    checkpoint.vocabulary = read_vocabulary(folder)
    if config.get("activation_function", "gelu") != "gelu":
        checkpoint.notes.append(
            f"config.json says activation_function={config['activation_function']!r}; this model "
            "(like nanoGPT's from_pretrained) uses exact GELU, so its outputs differ slightly"
        )
    return checkpoint


def _read_dcp(folder: Path, n_head: int | None) -> Checkpoint:
    reader = dcp.FileSystemReader(folder)
    try:
        metadata = reader.read_metadata()
        tensors = {
            name: torch.empty(meta.size, dtype=meta.properties.dtype)
            for name, meta in metadata.state_dict_metadata.items()
            if name.startswith(MODEL_KEY_ROOTS) and hasattr(meta, "size")
        }
        with single_process_dcp():
            dcp.load(tensors, storage_reader=reader, no_dist=True)
    except (CheckpointException, OSError, RuntimeError, ValueError) as error:
        cause = str(error).strip().splitlines()[-1]  # DCP wraps each rank's traceback in the message
        raise CheckpointError(f"{folder} is not a readable DCP checkpoint (truncated or corrupt?): {cause}") from None
    described_in = folder.parent.parent if folder.parent.name == RUN_CHECKPOINTS else folder  # a run's step-N
    args_file = described_in / MODEL_ARGS_FILE
    known = NanoGPTModelArgs.from_json(args_file).gpt_config() if args_file.is_file() else {"n_head": n_head}
    checkpoint = fitted_checkpoint(tensors, from_nanogpt, known, f"DCP checkpoint {folder}")  # our names pass through
    checkpoint.vocabulary = read_vocabulary(described_in)
    step = folder.name.removeprefix("step-")
    checkpoint.step = int(step) if folder.name.startswith("step-") and step.isdigit() else 0
    return checkpoint


def _read_run(run: Path, n_head: int | None) -> Checkpoint:
    """A training run's dump folder: its latest `checkpoint/step-N`."""
    steps = saved_steps(run / RUN_CHECKPOINTS)
    if not steps:
        raise CheckpointError(
            f"{run} is a training run with no checkpoint yet: train with --checkpoint.enable (the shipped configs "
            "save one every checkpoint.interval steps and at the end)"
        )
    return _read_dcp(steps[max(steps)], n_head)
