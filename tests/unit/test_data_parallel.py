"""Data parallelism launched as users launch it (`NGPU=2 ./run_train.sh`, gloo on CPU): DDP and
FSDP train exactly as one process accumulating the same micro-batches, resume exactly, and
refuse to resume on another number of ranks."""

import os
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from nanogpt_titan.checkpoint import read_checkpoint
from nanogpt_titan.metrics import METRICS_FILE, read_metrics_file

pytestmark = pytest.mark.slow

# 4 micro-batches of 4 windows per step: one process accumulates all 4, two ranks 2 each.
BATCHES = ("--training.local_batch_size", "4", "--training.global_batch_size", "16")
RUN = ("--training.steps", "10", "--validation.freq", "5", "--metrics.log_freq", "5", "--checkpoint.interval", "5")
TOLERANCE = 1e-5  # float rounding: ranks sum their partial gradients in another order


def train(run_train_sh, folder, *overrides, ngpu=1):
    result = run_train_sh(*BATCHES, *RUN, "--job.dump_folder", str(folder), *overrides, ngpu=ngpu)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return read_metrics_file(folder / METRICS_FILE)


@pytest.fixture(scope="module")
def one_process(run_train_sh, tmp_path_factory):
    folder = tmp_path_factory.mktemp("one_process")
    return folder, train(run_train_sh, folder)


@pytest.fixture(scope="module")
def fsdp(run_train_sh, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fsdp")
    return folder, train(run_train_sh, folder, "--parallelism.data_parallel_shard_degree", "2",
                         "--activation_checkpoint.mode", "selective", ngpu=2)


def assert_same_training(run, reference, tolerance=TOLERANCE):
    (folder, records), (reference_folder, reference_records) = run, reference
    assert [r["step"] for r in records] == list(range(1, 11))  # one line per step: rank 1 writes none
    for key in ("loss", "lr", "grad_norm", "val_loss", "val_loss_exact"):
        pairs = [(r[key], ref[key]) for r, ref in zip(records, reference_records, strict=True) if key in ref]
        assert pairs and all(key in r for r, ref in zip(records, reference_records) if key in ref), key
        assert max(abs(a - b) for a, b in pairs) <= tolerance, key
    weights, reference_weights = read_checkpoint(folder).state_dict, read_checkpoint(reference_folder).state_dict
    for name, tensor in reference_weights.items():
        torch.testing.assert_close(weights[name], tensor, rtol=0, atol=tolerance, msg=name)


def test_ddp_with_full_activation_checkpointing_equals_one_process_accumulating(run_train_sh, tmp_path, one_process):
    folder = tmp_path / "ddp"
    records = train(run_train_sh, folder, "--parallelism.data_parallel_replicate_degree", "2",
                    "--activation_checkpoint.mode", "full", ngpu=2)
    assert_same_training((folder, records), one_process)


def test_fsdp_with_selective_activation_checkpointing_equals_one_process_accumulating(fsdp, one_process):
    assert_same_training(fsdp, one_process)
    assert {"tokens_per_second_per_device", "tokens_per_second_global", "mfu_per_device"} <= fsdp[1][-1].keys()
    assert fsdp[1][-1]["tokens_per_second_global"] == 2 * fsdp[1][-1]["tokens_per_second_per_device"]


def test_fsdp_run_resumed_from_a_checkpoint_equals_the_uninterrupted_run(run_train_sh, tmp_path, fsdp):
    folder = tmp_path / "resumed"
    shutil.copytree(fsdp[0] / "checkpoint" / "step-5", folder / "checkpoint" / "step-5")
    records = train(run_train_sh, folder, "--parallelism.data_parallel_shard_degree", "2",
                    "--activation_checkpoint.mode", "selective", ngpu=2)
    assert records[0]["step"] == 6
    resumed = (folder, [*fsdp[1][:5], *records])
    assert_same_training(resumed, fsdp, tolerance=0)


def test_resuming_on_another_number_of_ranks_is_refused_in_one_line(run_train_sh, tmp_path, fsdp):
    folder = tmp_path / "one_rank"
    shutil.copytree(fsdp[0] / "checkpoint", folder / "checkpoint")
    result = run_train_sh(*BATCHES, *RUN, "--training.steps", "20", "--job.dump_folder", str(folder))
    assert result.returncode == 1
    last_line = (result.stdout + result.stderr).strip().splitlines()[-1]
    assert last_line.endswith(  # after torch's "[rank0]: "
        f"nanogpt_titan: error: {folder / 'checkpoint' / 'step-10'} holds the data streams of 2 data-parallel "
        "ranks and this run has 1: a run resumes only on the degree that saved it. Resume with 2 ranks, or start "
        "a new run from its weights alone: another job.dump_folder and --checkpoint.initial_load_path "
        f"{folder / 'checkpoint' / 'step-10'}"
    )


def test_fsdp_initial_weights_are_one_process_weights_and_ranks_drop_different_units(repo_root, tmp_path, build_model):
    from nanogpt_titan.train_spec import nanogpt_args

    out = tmp_path / "probe.pt"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
         str(repo_root / "tests" / "unit" / "data_parallel_probe.py"), str(out),
         str(repo_root / "src" / "nanogpt_titan" / "train_configs" / "debug_model.toml")],
        env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    probe = torch.load(out)
    torch.manual_seed(1337)  # debug_model.toml's seed, as torchtitan seeds one process
    one_process = build_model(replace(nanogpt_args["debugmodel"], vocab_size=65)).state_dict()
    for name, tensor in probe["weights"].items():
        assert torch.equal(tensor, one_process[name]), name
        if tensor.dim() == 2:  # each rank filling its shard from the same stream would repeat rows
            assert torch.unique(tensor, dim=0).shape[0] == tensor.shape[0], name
    rank0_mask, rank1_mask = probe["masks"]
    assert not torch.equal(rank0_mask, rank1_mask)
