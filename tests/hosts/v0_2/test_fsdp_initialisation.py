"""FSDP on two gloo ranks (torchtitan 0.2's Trainer parts, launched by torchrun): the sharded
weights are the one-process weights, and each rank drops out its own units."""

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from nanogpt_titan.model import FLAVORS

pytestmark = [pytest.mark.slow, pytest.mark.processes]


def test_fsdp_initial_weights_are_one_process_weights_and_ranks_drop_different_units(repo_root, tmp_path, build_model):
    out = tmp_path / "probe.pt"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--standalone",
            str(Path(__file__).parent / "data_parallel_probe.py"),
            str(out),
            str(repo_root / "src" / "nanogpt_titan" / "train_configs" / "debug_model.toml"),
        ],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    probe = torch.load(out)
    torch.manual_seed(1337)  # debug_model.toml's seed, as torchtitan seeds one process
    one_process = build_model(replace(FLAVORS["debugmodel"], vocab_size=65)).state_dict()
    for name, tensor in probe["weights"].items():
        assert torch.equal(tensor, one_process[name]), name
        if tensor.dim() == 2:  # each rank filling its shard from the same stream would repeat rows
            assert torch.unique(tensor, dim=0).shape[0] == tensor.shape[0], name
    rank0_mask, rank1_mask = probe["masks"]
    assert not torch.equal(rank0_mask, rank1_mask)
