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

import dataclasses
import json
import pickle
import re
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch.distributed.checkpoint.api import CheckpointException

from nanogpt_titan.checkpoint import hf_folder
from nanogpt_titan.checkpoint.hf_folder import HF_WEIGHT_FILES
from nanogpt_titan.checkpoint.mapping import StateDict, from_hf_gpt2, from_nanogpt
from nanogpt_titan.data.layout import META_FILE
from nanogpt_titan.data.vocabulary import Vocabulary, read_meta, vocabulary_from_json
from nanogpt_titan.errors import CheckpointError
from nanogpt_titan.model import NanoGPT, NanoGPTModelArgs
from nanogpt_titan.model.args import HF_CONFIG_FILE, MODEL_ARGS_FILE, VOCABULARY_FILE

RUN_CHECKPOINTS = "checkpoint"  # torchtitan's checkpoint.folder inside a run's dump folder
NANOGPT_CKPT = "ckpt.pt"  # inside nanoGPT's out_dir
MODEL_KEY_ROOTS = ("wte.", "wpe.", "layers.", "ln_f.", "lm_head.")
LISTED_KEYS = 8


@dataclass
class Checkpoint:
    args: NanoGPTModelArgs
    state_dict: StateDict  # our names, both tied names, float32
    source: str  # what was read, for messages
    notes: list[str] = field(default_factory=list)  # caveats the user should see
    vocabulary: Vocabulary | None = None  # when recorded
    step: int = 0  # the updates the weights have had: a run's step, a ckpt.pt's iter_num; 0 unrecorded
    dataset: str | None = None  # a ckpt.pt's config["dataset"] (nanoGPT's sample.py finds data/<dataset>/meta.pkl)

    def as_configured(self, block_size: int, dropout: float) -> "Checkpoint":
        """The model nanoGPT's train.py makes of pretrained weights: its configured dropout (the
        one override it allows), and the position embedding cropped to a shorter block_size
        (nanoGPT's `crop_block_size`); a longer one is refused."""
        if block_size > self.args.block_size:
            raise CheckpointError(
                f"block_size={block_size} exceeds the {self.args.block_size} positions of {self.source}; set "
                f"block_size <= {self.args.block_size}"
            )
        args = dataclasses.replace(self.args, block_size=block_size, dropout=dropout)
        state_dict = {**self.state_dict, "wpe.weight": self.state_dict["wpe.weight"][:block_size]}
        return dataclasses.replace(self, args=args, state_dict=state_dict)

    def build_model(self, device: str | torch.device = "cpu") -> NanoGPT:
        """The model with these weights, in eval mode."""
        with torch.device("meta"):
            model = NanoGPT(self.args)
        model.load_state_dict(self.state_dict, assign=True)
        model.lm_head.weight = model.wte.weight
        return model.to(device).eval()


@contextmanager
def single_process_dcp() -> Iterator[None]:
    """DCP warns that it runs without a process group; here that is the intent."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield


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
            f"{path} is a folder with neither .metadata (a DCP checkpoint) nor config.json "
            "(a Hugging Face model)"
        )
    if path.suffix == ".safetensors":
        tensors = _load_safetensors(path)
        return _checkpoint(tensors, _bare_state_dict_mapping(tensors), {"n_head": n_head}, f"state dict {path}")
    loaded = _torch_load(path, trust_pickle)
    if isinstance(loaded, dict) and isinstance(loaded.get("model"), dict):
        if not isinstance(loaded.get("model_args"), dict):
            raise CheckpointError(f"{path} has a 'model' entry but no 'model_args': not a nanoGPT ckpt.pt")
        known = {"n_head": n_head, **loaded["model_args"]}
        checkpoint = _checkpoint(loaded["model"], from_nanogpt, known, f"nanoGPT checkpoint {path}")
        meta = path.parent / META_FILE  # nanoGPT's data/<dataset>/meta.pkl, copied beside the ckpt.pt
        checkpoint.vocabulary = read_meta(meta) if meta.is_file() else None
        checkpoint.step = int(loaded.get("iter_num", 0))
        config = loaded.get("config")
        checkpoint.dataset = config.get("dataset") if isinstance(config, dict) else None
        return checkpoint
    if isinstance(loaded, dict) and loaded and all(isinstance(t, torch.Tensor) for t in loaded.values()):
        return _checkpoint(loaded, _bare_state_dict_mapping(loaded), {"n_head": n_head}, f"state dict {path}")
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
    tensors = _load_safetensors(weight_file) if weight_file.suffix == ".safetensors" else _torch_load(weight_file, False)
    checkpoint = _checkpoint(tensors, to_ours, known, f"Hugging Face model {folder}")
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
    checkpoint = _checkpoint(tensors, from_nanogpt, known, f"DCP checkpoint {folder}")  # our names pass through
    checkpoint.vocabulary = read_vocabulary(described_in)
    step = folder.name.removeprefix("step-")
    checkpoint.step = int(step) if folder.name.startswith("step-") and step.isdigit() else 0
    return checkpoint


def saved_steps(checkpoints: Path) -> dict[int, Path]:
    """The complete `step-N` DCP folders in `checkpoints`, by step: as torchtitan's own search,
    those with DCP's `.metadata`, which a save interrupted by a kill never wrote."""
    return {int(folder.name.removeprefix("step-")): folder for folder in checkpoints.glob("step-*")
            if folder.name.removeprefix("step-").isdigit() and (folder / ".metadata").is_file()}


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
    return {name: tuple(meta.size) for name, meta in metadata.items() if name.startswith(MODEL_KEY_ROOTS)
            and hasattr(meta, "size")}


def saved_data_parallel_ranks(step_folder: Path) -> int:
    """How many data-parallel ranks saved their dataloader state in a Trainer's `step-N` (0: none
    did), each under `dataloader.dp_rank_<r>` (one key, or the keys of its state's parts)."""
    keys = dcp.FileSystemReader(step_folder).read_metadata().state_dict_metadata
    return len({match[1] for key in keys if (match := re.match(r"dataloader\.dp_rank_(\d+)", key))})


def _read_run(run: Path, n_head: int | None) -> Checkpoint:
    """A training run's dump folder: its latest `checkpoint/step-N`."""
    steps = saved_steps(run / RUN_CHECKPOINTS)
    if not steps:
        raise CheckpointError(
            f"{run} is a training run with no checkpoint yet: train with --checkpoint.enable (the shipped configs "
            "save one every checkpoint.interval steps and at the end)"
        )
    return _read_dcp(steps[max(steps)], n_head)


def read_vocabulary(folder: Path) -> Vocabulary | None:
    """The vocabulary a `vocabulary.json` in `folder` records; None without one."""
    path = folder / VOCABULARY_FILE
    if not path.is_file():
        return None
    return vocabulary_from_json(json.loads(path.read_text(encoding="utf-8")), path)


def _bare_state_dict_mapping(tensors: StateDict) -> Callable[[StateDict], StateDict]:
    """A bare state dict says nothing of its layout but its shapes: GPT-2's Conv1D `c_attn` is
    `(C, 3C)`, nanoGPT's Linear one `(3C, C)`, never square."""
    c_attn = next((t for name, t in tensors.items() if name.endswith("attn.c_attn.weight")), None)
    hf_conv1d_layout = c_attn is not None and c_attn.dim() == 2 and c_attn.shape[1] == 3 * c_attn.shape[0]
    return from_hf_gpt2 if hf_conv1d_layout else from_nanogpt


def _checkpoint(tensors: StateDict, to_ours: Callable[[StateDict], StateDict], known: dict, source: str) -> Checkpoint:
    """Map the names, infer what `known` does not give, and check every key and shape."""
    ours = {name: tensor.float().contiguous() for name, tensor in to_ours(tensors).items()}
    args = _model_args(_shape_args(ours, source) | {k: v for k, v in known.items() if v is not None}, source)
    _check_matches_model(ours, args, source)
    if not torch.equal(ours["lm_head.weight"], ours["wte.weight"]):
        raise CheckpointError(
            f"{source} has an lm_head.weight that differs from wte.weight; nanoGPT ties the two, "
            "so this is another architecture"
        )
    ours["lm_head.weight"] = ours["wte.weight"]
    return Checkpoint(args, ours, source)


def _shape_args(ours: StateDict, source: str) -> dict:
    """Every model arg but the head count, read off the tensors' shapes."""
    if "wte.weight" not in ours or "wpe.weight" not in ours:
        raise CheckpointError(
            f"{source} has no token/position embeddings (wte/wpe): not a nanoGPT or GPT-2 model; "
            f"its first keys are {sorted(ours)[:LISTED_KEYS]}"
        )
    vocab_size, n_embd = ours["wte.weight"].shape
    return dict(
        n_layer=len({name.split(".")[1] for name in ours if name.startswith("layers.")}),
        n_embd=n_embd,
        block_size=len(ours["wpe.weight"]),
        vocab_size=vocab_size,
        bias="ln_f.bias" in ours,
        dropout=0.0,
    )


def _model_args(fields: dict, source: str) -> NanoGPTModelArgs:
    if "n_head" not in fields:
        raise CheckpointError(
            f"{source} does not record its head count and shapes cannot tell it; pass --n-head "
            "(nanoGPT's n_head: the number of attention heads the model was trained with)"
        )
    return NanoGPTModelArgs.from_fields(fields, source)


def _check_matches_model(ours: StateDict, args: NanoGPTModelArgs, source: str) -> None:
    with torch.device("meta"):
        expected = {name: tensor.shape for name, tensor in NanoGPT(args).state_dict().items()}
    missing = sorted(expected.keys() - ours.keys())
    unexpected = sorted(ours.keys() - expected.keys())
    misshaped = sorted(
        f"{name} {tuple(ours[name].shape)} (expected {tuple(shape)})"
        for name, shape in expected.items()
        if name in ours and ours[name].shape != shape
    )
    problems = [
        f"{label} {keys[:LISTED_KEYS]}{' and more' if len(keys) > LISTED_KEYS else ''}"
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("mis-shaped keys", misshaped))
        if keys
    ]
    if problems:
        raise CheckpointError(f"{source} does not fit nanoGPT with {args}: " + "; ".join(problems))
