"""A run of the installed host, read by the package's tools: its checkpoints exported, its
metrics compared with nanoGPT's log."""

import re

import pytest
import torch

from nanogpt_titan.checkpoint import read_checkpoint, to_nanogpt
from nanogpt_titan.cli import main


@pytest.mark.slow
def test_trainer_checkpoint_reads_its_model_keys_only(run_trainer, tmp_path, capsys, cli):
    run_trainer(
        "debug_model.toml",
        {"training.steps": 2, "checkpoint.enable": True, "checkpoint.interval": 2, "validation.freq": 100},
        dump_folder=tmp_path / "run",
    )
    step = tmp_path / "run" / "checkpoint" / "step-2"
    assert cli("export", step, tmp_path / "ckpt.pt", "--n-head", 2) == 0
    exported = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert exported["model_args"]["n_layer"] == 2 and len(exported["model"]) == 2 + 2 * 12 + 3
    (tmp_path / "run" / "checkpoint" / "step-4").mkdir()  # a save killed before its .metadata
    (tmp_path / "run" / "checkpoint" / "step-4" / "__0_0.distcp").write_bytes(b"partial")
    latest = to_nanogpt(read_checkpoint(tmp_path / "run").state_dict)  # the last complete save, as torchtitan resumes
    assert all(torch.equal(latest[name], exported["model"][name]) for name in exported["model"])


@pytest.mark.slow
def test_compare_a_real_run_with_a_nanogpt_log(run_trainer, tmp_path, nanogpt_log, capsys):
    run_trainer("debug_model.toml", {"training.steps": 6, "validation.freq": 3}, dump_folder=tmp_path / "ours")
    output = tmp_path / "report" / "comparison.png"
    assert main(["compare", str(nanogpt_log), str(tmp_path / "ours"), "-o", str(output)]) == 0
    table = capsys.readouterr().out
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert output.with_suffix(".txt").read_text() == table
    assert "| 3 | 3.6000 |" in table  # the shared eval step, both runs
    assert "| 3.5000 |" in table  # nanoGPT's train-loss estimate in the same row
    assert "mean |difference| of the mean smoothed train loss (window 50, 4 steps)" in table
    assert "nanoGPT nanogpt.log: final val loss 3.6000 (step 3), best 3.6000" in table
    assert re.search(r"ours ours: final val loss \d\.\d{4} \(step 6\), exact \d\.\d{4}, best", table)
    assert sorted(p.name for p in output.parent.iterdir()) == ["comparison.png", "comparison.txt"]  # no partials

    assert main(["compare", str(nanogpt_log), str(tmp_path / "ours"), "-o", str(output)]) == 2
    assert "comparison.png already exists" in capsys.readouterr().err
