"""Data parallelism launched as users launch it (`NGPU=2 ./run_train.sh`, gloo on CPU), on the
installed host: DDP, FSDP and HSDP, with activation checkpointing and compile, train exactly as
one process accumulating the same micro-batches, resume exactly, and refuse to resume on another
number of ranks."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from nanogpt_titan.checkpoint import read_checkpoint
from nanogpt_titan.metrics.records import METRICS_FILE, read_metrics_file

pytestmark = [pytest.mark.slow, pytest.mark.processes]

# 4 micro-batches of 4 windows per step: one process accumulates all 4, two ranks 2 each.
BATCHES = {"training.local_batch_size": 4, "training.global_batch_size": 16}
RUN = {"training.steps": 10, "validation.freq": 5, "metrics.log_freq": 5, "checkpoint.interval": 5}
FSDP = {"parallelism.data_parallel_shard_degree": 2, "activation_checkpoint.mode": "selective"}
TOLERANCE = 1e-5  # float rounding: ranks sum their partial gradients in another order


@dataclass
class Run:
    folder: Path
    records: list[dict]
    output: str = ""


def train(run_train_sh, folder: Path, settings: dict | None = None, ngpu: int = 1) -> Run:
    result = run_train_sh({**BATCHES, **RUN, "job.dump_folder": str(folder), **(settings or {})}, ngpu=ngpu)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return Run(folder, read_metrics_file(folder / METRICS_FILE), result.stdout + result.stderr)


@pytest.fixture(scope="module")
def one_process(run_train_sh, tmp_path_factory) -> Run:
    return train(run_train_sh, tmp_path_factory.mktemp("one_process"))


@pytest.fixture(scope="module")
def fsdp(run_train_sh, tmp_path_factory) -> Run:
    return train(run_train_sh, tmp_path_factory.mktemp("fsdp"), FSDP, ngpu=2)


def assert_same_training(run: Run, reference: Run, tolerance: float = TOLERANCE) -> None:
    assert [r["step"] for r in run.records] == list(range(1, 11))  # one line per step: rank 1 writes none
    for key in ("loss", "lr", "grad_norm", "val_loss", "val_loss_exact"):
        pairs = [(r.get(key), ref[key]) for r, ref in zip(run.records, reference.records, strict=True) if key in ref]
        assert pairs and all(value is not None for value, _ in pairs), key
        assert max(abs(value - expected) for value, expected in pairs) <= tolerance, key
    weights = read_checkpoint(run.folder).state_dict
    for name, expected in read_checkpoint(reference.folder).state_dict.items():
        torch.testing.assert_close(weights[name], expected, rtol=0, atol=tolerance, msg=name)


def test_one_process_through_torchtitans_entry_point_says_nothing_a_newcomer_must_decode(one_process):
    assert "Training completed" in one_process.output
    for noise in ("set_vital", "TORCH_NCCL_ASYNC_ERROR_HANDLING", "HF assets path"):
        assert noise not in one_process.output, noise


def test_compiled_ddp_with_full_activation_checkpointing_equals_one_process_accumulating(
    run_train_sh, tmp_path, one_process
):
    ddp = train(
        run_train_sh,
        tmp_path / "ddp",
        {"parallelism.data_parallel_replicate_degree": 2, "activation_checkpoint.mode": "full", "compile.enable": True},
        ngpu=2,
    )
    assert_same_training(ddp, one_process)


def test_hsdp_with_activation_checkpointing_every_block_equals_one_process_accumulating(
    run_train_sh, tmp_path, one_process
):
    """2 replicas of 2 shards, one micro-batch each: the four micro-batches of the one process."""
    hsdp = train(
        run_train_sh,
        tmp_path / "hsdp",
        {
            "parallelism.data_parallel_replicate_degree": 2,
            "parallelism.data_parallel_shard_degree": 2,
            "activation_checkpoint.mode": "full",
        },
        ngpu=4,
    )
    assert_same_training(hsdp, one_process)
    assert "Applied HSDP to the nanoGPT model" in hsdp.output


def test_fsdp_with_selective_activation_checkpointing_equals_one_process_accumulating(fsdp, one_process):
    assert_same_training(fsdp, one_process)
    last = fsdp.records[-1]
    assert {"tokens_per_second_per_device", "tokens_per_second_global", "mfu_per_device"} <= last.keys()
    assert last["tokens_per_second_global"] == 2 * last["tokens_per_second_per_device"]
    assert "over all 2 data-parallel ranks" in fsdp.output


def test_fsdp_run_resumed_from_a_checkpoint_equals_the_uninterrupted_run(run_train_sh, tmp_path, fsdp):
    folder = tmp_path / "resumed"
    shutil.copytree(fsdp.folder / "checkpoint" / "step-5", folder / "checkpoint" / "step-5")
    resumed = train(run_train_sh, folder, FSDP, ngpu=2)
    assert resumed.records[0]["step"] == 6
    resumed.records[:0] = fsdp.records[:5]
    assert_same_training(resumed, fsdp, tolerance=0)


def test_resuming_on_another_number_of_ranks_is_refused_in_one_line(run_train_sh, tmp_path, fsdp):
    folder = tmp_path / "one_rank"
    shutil.copytree(fsdp.folder / "checkpoint", folder / "checkpoint")
    result = run_train_sh({**BATCHES, **RUN, "training.steps": 20, "job.dump_folder": str(folder)})
    assert result.returncode == 1
    last_line = (result.stdout + result.stderr).strip().splitlines()[-1]
    step_10 = folder / "checkpoint" / "step-10"  # the message in full: v0_2/test_run_folder.py
    assert f"nanogpt_titan: error: {step_10} holds the data streams of 2 data-parallel ranks and this run has 1" in (
        last_line
    )
