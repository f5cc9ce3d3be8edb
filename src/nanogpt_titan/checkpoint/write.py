"""Write a checkpoint as DCP (for torchtitan), nanoGPT's `ckpt.pt`, or a Hugging Face folder.

Every writer builds its output beside the destination and renames it into place, so an error
or an interrupt leaves nothing behind, and none of them overwrites an existing path.
"""

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from safetensors.torch import save_file

from nanogpt_titan.checkpoint.mapping import to_hf_gpt2, to_nanogpt
from nanogpt_titan.checkpoint.saved import single_process_dcp
from nanogpt_titan.checkpoint.weights import Checkpoint
from nanogpt_titan.data.vocabulary import Vocabulary
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model import NanoGPT, NanoGPTModelArgs
from nanogpt_titan.model.args import MODEL_ARGS_FILE, VOCABULARY_FILE
from nanogpt_titan.optim import NanoGPTAdamW
from nanogpt_titan.safe_write import written_atomically

LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default, which nanoGPT uses


def write_vocabulary(folder: Path, vocabulary: Vocabulary | None) -> None:
    """`vocabulary.json`: a char model's characters in id order, or GPT-2's BPE (nothing for a
    model whose vocabulary is unknown)."""
    if vocabulary is not None:
        (folder / VOCABULARY_FILE).write_text(json.dumps(vocabulary.to_json()) + "\n", encoding="utf-8")


def write_description(folder: Path, args: NanoGPTModelArgs, vocabulary: Vocabulary | None) -> None:
    """What a checkpoint's tensors cannot say, beside them: `model_args.json` and the vocabulary
    (`read_checkpoint` reads both back)."""
    args.to_json(folder / MODEL_ARGS_FILE)
    write_vocabulary(folder, vocabulary)


def write_dcp(checkpoint: Checkpoint, destination: Path) -> None:
    """A DCP folder that `--checkpoint.initial_load_path` loads, with `model_args.json` (and the
    vocabulary, when known) inside."""
    with written_atomically(destination, is_dir=True) as folder, single_process_dcp():
        dcp.save(checkpoint.state_dict, checkpoint_id=folder, no_dist=True)
        write_description(folder, checkpoint.args, checkpoint.vocabulary)


@dataclass(frozen=True)
class AdamWSettings:
    """The settings of a fresh AdamW state for nanoGPT's `--init_from=resume`, which takes its
    optimizer settings from the file."""

    lr: float
    beta1: float
    beta2: float
    weight_decay: float


def write_nanogpt(
    checkpoint: Checkpoint, destination: Path, dataset: str | None = None, adamw: AdamWSettings | None = None
) -> None:
    """nanoGPT's `ckpt.pt`, which its `sample.py` (and with `adamw`, `train.py --init_from=resume`) loads.

    The file holds only what is known: the weights, `model_args`, `iter_num` 0 and, when
    given, `config["dataset"]` (by which nanoGPT's sample.py finds the dataset's meta.pkl) and a
    fresh AdamW state with nanoGPT's two parameter groups and no moments.
    """
    contents = {
        "model": to_nanogpt(checkpoint.state_dict),
        "model_args": checkpoint.args.gpt_config(),
        "iter_num": 0,
        "best_val_loss": torch.tensor(math.inf),
        "config": {} if dataset is None else {"dataset": dataset},
    }
    if adamw is not None:
        optimizer = NanoGPTAdamW(
            checkpoint.build_model().parameters(),
            lr=adamw.lr,
            betas=(adamw.beta1, adamw.beta2),
            weight_decay=adamw.weight_decay,
        )
        contents["optimizer"] = optimizer.state_dict()
    with written_atomically(destination) as path:
        torch.save(contents, path)


def write_hf(checkpoint: Checkpoint, destination: Path) -> None:
    """A `GPT2LMHeadModel` folder: config.json and model.safetensors (tied head stored once).

    Hugging Face GPT-2 always has biases; a bias-free model gets zero biases, which computes
    the same function.
    """
    args = checkpoint.args
    tensors = dict(checkpoint.state_dict)
    del tensors["lm_head.weight"]  # tied: transformers re-ties it from wte on load
    if not args.bias:
        with torch.device("meta"):
            with_bias = NanoGPT(dataclasses.replace(args, bias=True)).state_dict()
        tensors |= {name: torch.zeros(t.shape) for name, t in with_bias.items() if name.endswith(".bias")}
    config = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "n_layer": args.n_layer,
        "n_head": args.n_head,
        "n_embd": args.n_embd,
        "n_positions": args.block_size,
        "vocab_size": args.vocab_size,
        "activation_function": "gelu",
        "layer_norm_epsilon": LAYER_NORM_EPS,
        "resid_pdrop": args.dropout,
        "embd_pdrop": args.dropout,
        "attn_pdrop": args.dropout,
        "tie_word_embeddings": True,
        "bos_token_id": None,  # a char model has none (GPT-2's 50256 would lie outside its vocabulary)
        "eos_token_id": None,
    }

    with written_atomically(destination, is_dir=True) as folder:
        save_file(to_hf_gpt2(tensors), folder / "model.safetensors", metadata={"format": "pt"})
        write_vocabulary(folder, checkpoint.vocabulary)
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def export(
    checkpoint: Checkpoint, destination: Path, dataset: str | None = None, adamw: AdamWSettings | None = None
) -> str:
    """nanoGPT `ckpt.pt` when `destination` ends in `.pt`, else a Hugging Face folder."""
    if destination.suffix == ".pt":
        write_nanogpt(checkpoint, destination, dataset, adamw)
        return "nanoGPT ckpt.pt"
    if dataset is not None or adamw is not None:
        raise NanoGPTTitanError(f"--dataset and --adamw describe a nanoGPT ckpt.pt; {destination} is not a .pt file")
    write_hf(checkpoint, destination)
    return "Hugging Face folder"
