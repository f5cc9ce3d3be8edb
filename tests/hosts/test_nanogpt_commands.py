"""nanoGPT's commands as nanoGPT's users run them, through the installed torchtitan: its configs
train with train.py's learning rates and cadence, one process or two (nanoGPT's DDP) print
nanoGPT's own log, and an interrupted run says where it stopped and how to resume."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nanogpt_titan.nanogpt.arguments import read_config
from nanogpt_titan.nanogpt.train import run_settings

pytestmark = pytest.mark.slow
COMMAND = [sys.executable, "-c", "from nanogpt_titan.cli import main; raise SystemExit(main())", "train"]


def nanogpt_log(lines: list[str]) -> tuple[list[str], dict[int, float]]:
    """nanoGPT's evaluation lines, and each iteration's printed loss, from its log or ours."""
    evaluations, losses = [], {}
    for line in lines:
        line = line.split(" - ")[-1]  # ours, after torchtitan's logging prefix
        if re.fullmatch(r"step \d+: train loss [\d.]+, val loss [\d.]+", line):
            evaluations.append(line)
        elif match := re.match(r"iter (\d+): loss ([\d.]+)", line):
            losses[int(match[1])] = float(match[2])
    return evaluations, losses


def test_nanogpts_shakespeare_char_config_trains_with_its_learning_rates_and_cadence(nanogpt_dir, train_py_lr):
    """nanoGPT's config with the README's CPU overrides, smaller still; every step's lr is
    train.py's, and the evaluations are nanoGPT's, at every eval_interval-th iteration."""
    nanogpt = [
        "config/train_shakespeare_char.py",
        "--device=cpu",
        "--compile=False",
        "--eval_iters=2",
        "--log_interval=1",
        "--block_size=64",
        "--batch_size=12",
        "--n_layer=2",
        "--n_head=2",
        "--n_embd=64",
        "--max_iters=12",
        "--lr_decay_iters=10",
        "--warmup_iters=3",
        "--dropout=0.0",
        "--eval_interval=5",
    ]
    result = subprocess.run(
        [*COMMAND, *nanogpt, "--", "--metrics.log_freq", "4"],  # torchtitan's own, after
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [
        json.loads(line) for line in (nanogpt_dir / "out-shakespeare-char" / "metrics.jsonl").read_text().splitlines()
    ]
    config = read_config(nanogpt)
    assert [r["step"] for r in records] == list(range(1, 14))
    assert [r["lr"] for r in records] == pytest.approx(
        [train_py_lr(config, step - 1) for step in range(1, 14)], rel=1e-12
    )
    assert [r["step"] for r in records if "val_loss" in r] == [5, 10]  # nanoGPT's, as the command draws as nanoGPT
    evaluations, _ = nanogpt_log((result.stdout + result.stderr).splitlines())
    assert [line.split(":")[0] for line in evaluations] == ["step 0", "step 5", "step 10"]  # iteration 0's too
    assert [r["step"] for r in records if "grad_norm" in r] == [1, 4, 8, 12, 13]  # torchtitan logs step 1 too


def test_gpt2_on_openwebtext_and_the_gpt2_xl_finetune_train_at_tiny_scale(nanogpt_dir, make_trainer):
    """train_gpt2.py on the BPE stand-in; finetune_shakespeare.py from the gpt2-xl stand-in, its
    positions cropped to block_size, at the constant learning rate of decay_lr = False."""
    tiny = [
        "--device=cpu",
        "--compile=False",
        "--max_iters=2",
        "--eval_interval=2",
        "--eval_iters=1",
        "--block_size=32",
        "--gradient_accumulation_steps=2",
    ]
    gpt2 = read_config(
        [
            "config/train_gpt2.py",
            *tiny,
            "--n_layer=1",
            "--n_head=2",
            "--n_embd=32",
            "--batch_size=2",
            "--wandb_log=False",
        ]
    )
    trainer = make_trainer("nanogpt.toml", run_settings(gpt2, 1), dump_folder=nanogpt_dir / "out")
    assert trainer.model_parts[0].model_args.vocab_size == 50304  # no meta.pkl: GPT-2 BPE, as nanoGPT pads it
    trainer.train()
    finetune = read_config(["config/finetune_shakespeare.py", *tiny])
    trainer = make_trainer("nanogpt.toml", run_settings(finetune, 1), dump_folder=nanogpt_dir / "out-shakespeare")
    (model,) = trainer.model_parts
    assert (model.model_args.vocab_size, model.model_args.block_size, model.model_args.bias) == (50257, 32, True)
    assert Path("out-shakespeare/init_from-gpt2-xl-block32-dropout0.0/model_args.json").is_file()
    trainer.train()
    make_trainer.close()
    records = [json.loads(line) for line in Path("out-shakespeare/metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in records] == [3e-5] * 3


def test_nanogpts_cpu_recipe_from_its_seed_prints_nanogpts_log(nanogpt_dir, nanogpt_fixtures, cpu_recipe_arguments):
    """The first 100 of nanoGPT's CPU recipe's 2000 iterations: the evaluation at iteration 0
    prints nanoGPT's line, and every iteration prints nanoGPT's loss, but for one or two that a
    last-bit difference of the sum's order rounds the other way (within half a unit of the
    printed digit)."""
    evaluations, losses = nanogpt_log((nanogpt_fixtures / "cpu_recipe_seed1337.log").read_text().splitlines())
    iterations = 100
    result = subprocess.run(
        [*COMMAND, *cpu_recipe_arguments, f"--max_iters={iterations}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ours, our_losses = nanogpt_log((result.stdout + result.stderr).splitlines())
    assert ours == evaluations[:1]
    assert max(abs(our_losses[it] - losses[it]) for it in range(iterations + 1)) <= 1e-4 + 1e-9
    assert sum(our_losses[it] != losses[it] for it in range(iterations + 1)) <= 2


@pytest.mark.processes
def test_two_processes_are_nanogpts_ddp_evaluations_included(nanogpt_dir, nanogpt_fixtures):
    """The issue's command, as nanoGPT's DDP on two processes ran it: rank r is nanoGPT's rank r,
    the first rank evaluates at iterations 0, 20 and 40 while the other trains on, and the log
    is nanoGPT's: its evaluations and the first rank's every loss, each line once."""
    command = [
        *COMMAND,
        "--nproc_per_node=2",
        "--standalone",
        "config/train_shakespeare_char.py",
        "--device=cpu",
        "--compile=False",
        "--eval_iters=20",
        "--log_interval=1",
        "--block_size=64",
        "--batch_size=12",
        "--n_layer=4",
        "--n_head=4",
        "--n_embd=128",
        "--max_iters=40",
        "--lr_decay_iters=40",
        "--warmup_iters=10",
        "--dropout=0.0",
        "--eval_interval=20",
        "--gradient_accumulation_steps=2",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = (result.stdout + result.stderr).splitlines()
    evaluations, losses = nanogpt_log((nanogpt_fixtures / "ddp2_cpu.log").read_text().splitlines())
    ours, our_losses = nanogpt_log(output)
    assert ours == evaluations
    assert our_losses == losses
    assert len([line for line in output if "Training starts at step 1" in line]) == 1  # one rank's output


def test_an_interrupted_run_says_where_it_stopped_and_how_to_resume(nanogpt_dir):
    """Ctrl-C after the first checkpoint: one line, no traceback; the command it names resumes."""
    nanogpt = [
        "config/train_shakespeare_char.py",
        "--device=cpu",
        "--compile=False",
        "--eval_iters=1",
        "--block_size=32",
        "--batch_size=2",
        "--n_layer=1",
        "--n_head=1",
        "--n_embd=16",
        "--max_iters=100000",
        "--lr_decay_iters=100000",
        "--eval_interval=5",
    ]
    checkpoints = nanogpt_dir / "out-shakespeare-char" / "checkpoint"
    with subprocess.Popen([*COMMAND, *nanogpt], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as run:
        deadline = time.monotonic() + 240
        while not any(checkpoints.glob("step-*/.metadata")) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        run.send_signal(signal.SIGINT)  # just after a save: torchtitan collects garbage then
        try:
            _, err = run.communicate(timeout=120)
        finally:
            run.kill()  # a run the signal did not stop trains no further
    last = err.strip().splitlines()[-1]
    assert run.returncode != 0 and "Traceback" not in err
    match = re.fullmatch(
        r"nanogpt_titan: interrupted at step (\d+) of 100001; its last checkpoint is step (\d+) "
        r"\((.*)\): (.*) continues from it",
        last,
    )
    assert match and int(match[1]) >= int(match[2]) >= 5, last
    assert match[4].startswith("nanogpt-titan train config/train_shakespeare_char.py ")
    assert match[4].endswith(" --init_from=resume")
