"""Write a checkpoint as DCP (for torchtitan), nanoGPT's `ckpt.pt`, or a Hugging Face folder.

Every writer builds its output beside the destination and renames it into place, so an error
or an interrupt leaves nothing behind, and none of them overwrites an existing path.
"""

import dataclasses
import json
import math
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from safetensors.torch import save_file

from nanogpt_titan.checkpoint.mapping import to_hf_gpt2, to_nanogpt
from nanogpt_titan.checkpoint.read import Checkpoint, single_process_dcp
from nanogpt_titan.files import written_atomically
from nanogpt_titan.model import NanoGPT
from nanogpt_titan.model.args import MODEL_ARGS_FILE
from nanogpt_titan.optimizer import NanoGPTAdamW

LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default, which nanoGPT uses
# nanoGPT's config/train_shakespeare_char.py, for the optimizer groups of an exported ckpt.pt.
SHAKESPEARE_CHAR_ADAMW = {"lr": 1e-3, "betas": (0.9, 0.99), "weight_decay": 0.1}


def write_dcp(checkpoint: Checkpoint, destination: Path) -> None:
    """A DCP folder that `--checkpoint.initial_load_path` loads, with `model_args.json` inside."""
    with written_atomically(destination, is_dir=True) as folder, single_process_dcp():
        dcp.save(checkpoint.state_dict, checkpoint_id=folder, no_dist=True)
        checkpoint.args.to_json(folder / MODEL_ARGS_FILE)


def write_nanogpt(checkpoint: Checkpoint, destination: Path) -> None:
    """nanoGPT's `ckpt.pt`, which its `sample.py` and `train.py --init_from=resume` load.

    nanoGPT's resume also restores its optimizer, so the file carries an AdamW state with
    nanoGPT's two parameter groups, the shakespeare-char config's hyperparameters and no
    moments: training resumes with fresh moments.
    """
    args = checkpoint.args
    optimizer = NanoGPTAdamW(checkpoint.build_model().parameters(), **SHAKESPEARE_CHAR_ADAMW)
    contents = {
        "model": to_nanogpt(checkpoint.state_dict),
        "model_args": args.gpt_config(),
        "optimizer": optimizer.state_dict(),
        "iter_num": 0,
        "best_val_loss": torch.tensor(math.inf),
        "config": {"dataset": "shakespeare_char", "block_size": args.block_size},
    }
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
    }

    with written_atomically(destination, is_dir=True) as folder:
        hf = {name: t.contiguous() for name, t in to_hf_gpt2(tensors).items()}
        save_file(hf, folder / "model.safetensors", metadata={"format": "pt"})
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def export(checkpoint: Checkpoint, destination: Path) -> str:
    """nanoGPT `ckpt.pt` when `destination` ends in `.pt`, else a Hugging Face folder."""
    if destination.suffix == ".pt":
        write_nanogpt(checkpoint, destination)
        return "nanoGPT ckpt.pt"
    write_hf(checkpoint, destination)
    return "Hugging Face folder"
