"""`nanogpt-titan`: help and argument errors come back without loading torch or torchtitan."""

import subprocess
import sys

import pytest


def test_the_cli_module_loads_neither_torch_nor_torchtitan():
    code = "import sys, nanogpt_titan.cli; print(sorted({'torch', 'torchtitan'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_an_argument_error_is_one_usage_line_and_exit_2():
    result = subprocess.run(["nanogpt-titan", "evaluate"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "nanogpt-titan evaluate: error: the following arguments are required: src"


@pytest.mark.parametrize("nanogpt_ckpt", [False], indirect=True)
@pytest.mark.parametrize("command", ["evaluate", "sample"])
@pytest.mark.parametrize(
    "device, fact",
    [
        ("bogus", "--device bogus is not a torch device; use cpu, cuda or cuda:N"),
        ("cuda", "--device cuda: this machine has no CUDA device; pass --device cpu"),
    ],
)
def test_a_device_this_machine_lacks_is_one_line(cli, nanogpt_ckpt, capsys, monkeypatch, command, device, fact):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU machine, even on a GPU runner
    path, _ = nanogpt_ckpt
    assert cli(command, path, "--device", device) == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert error.startswith(f"nanogpt-titan {command}: error: ") and fact in error


@pytest.mark.parametrize("nanogpt_ckpt", [False], indirect=True)
@pytest.mark.parametrize("temperature", ["nan", "inf", "0", "-1"])
def test_a_temperature_that_is_no_positive_number_is_one_line(cli, nanogpt_ckpt, capsys, temperature):
    path, _ = nanogpt_ckpt
    assert cli("sample", path, "--temperature", temperature, "--max-new-tokens", 2, "--num-samples", 1) == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert f"temperature={float(temperature)} must be a finite number > 0" in error


@pytest.mark.parametrize("nanogpt_ckpt", [False], indirect=True)
def test_ctrl_c_says_nothing_was_written_and_exits_130(cli, nanogpt_ckpt, tmp_path, capsys, monkeypatch):
    from nanogpt_titan.checkpoint import write

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(write.torch, "save", interrupted)
    path, _ = nanogpt_ckpt
    assert cli("export", path, tmp_path / "out.pt") == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "nanogpt-titan export: interrupted, nothing written"
    assert not any(p.name.startswith((".out.pt", "out.pt")) for p in tmp_path.iterdir())
