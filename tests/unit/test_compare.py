import subprocess

import pytest

from nanogpt_titan.cli import main
from nanogpt_titan.compare import Curves, comparison_table, read_nanogpt_log, smoothed


def test_nanogpt_log_steps_align_with_ours(nanogpt_log):
    curves = read_nanogpt_log(nanogpt_log)
    assert curves.train_loss == {1: 4.22, 2: 4.0, 3: 3.8, 4: 3.6}  # iter N is our step N + 1
    assert curves.val_loss == {0: 4.21, 3: 3.6}  # eval after N updates is our validation at step N
    assert curves.train_loss_estimate == {0: 4.2, 3: 3.5}


def test_smoothing_is_a_trailing_mean():
    assert smoothed({1: 1.0, 2: 3.0, 3: 5.0}, window=2) == {1: 1.0, 2: 2.0, 3: 4.0}


def test_a_file_without_nanogpt_lines_is_refused(tmp_path):
    path = tmp_path / "other.log"
    path.write_text("hello\n")
    with pytest.raises(ValueError, match="holds no nanoGPT log lines"):
        read_nanogpt_log(path)


def test_each_side_shows_its_mean_and_spread():
    def run(name, val_at_3, train_losses):
        return Curves(name, train_loss=dict(enumerate(train_losses, 1)), val_loss={3: val_at_3})

    table = comparison_table(
        [run("a.log", 3.6, [4.0, 3.0]), run("b.log", 3.8, [2.0, 1.0])],
        [run("seed1", 3.5, [3.0, 2.0]), run("seed2", 3.5, [3.0, 2.0]), run("seed3", 3.8, [3.0, 2.0])],
    )
    assert "nanoGPT: 2 run(s): a.log, b.log" in table and "ours: 3 run(s): seed1, seed2, seed3" in table
    assert "| 3 | 3.7000 (3.6000-3.8000) | 3.6000 (3.5000-3.8000) | -0.1000 |" in table
    assert "(window 50, 2 steps): 0.0000" in table  # mean train curves 3.0, 2.5 on both sides


def test_compare_needs_both_sides(tmp_path, nanogpt_log, capsys):
    assert main(["compare", str(nanogpt_log), "-o", str(tmp_path / "c.png")]) == 2
    assert "give at least one nanoGPT log and one of our runs" in capsys.readouterr().err
    assert not list(tmp_path.glob("c.*"))


def test_cli_reports_a_missing_run_in_one_line(tmp_path, nanogpt_log, capsys):
    assert main(["compare", str(nanogpt_log), str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_console_script_is_installed():
    result = subprocess.run(["nanogpt-titan", "compare", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "nanoGPT train.py stdout" in result.stdout
