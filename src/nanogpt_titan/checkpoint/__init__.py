"""Checkpoints: the one weight mapping, and reading/writing every supported format."""

from nanogpt_titan.checkpoint.mapping import (
    from_hf_gpt2,
    from_nanogpt,
    to_hf_gpt2,
    to_nanogpt,
)
from nanogpt_titan.checkpoint.read import read_checkpoint, read_reported
from nanogpt_titan.checkpoint.weights import Checkpoint
from nanogpt_titan.checkpoint.write import AdamWSettings, export, write_dcp
from nanogpt_titan.errors import CheckpointError

__all__ = [
    "AdamWSettings",
    "Checkpoint",
    "CheckpointError",
    "export",
    "from_hf_gpt2",
    "from_nanogpt",
    "read_checkpoint",
    "read_reported",
    "to_hf_gpt2",
    "to_nanogpt",
    "write_dcp",
]
