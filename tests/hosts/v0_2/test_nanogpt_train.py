"""`nanogpt-titan train`: nanoGPT's seven configs, translated key by key and run at tiny scale.

The config files are written here from the settings nanoGPT's reference lists for each; the
data and OpenAI's weights are stand-ins made here: random BPE ids in nanoGPT's `data/X/`
layout, and small random GPT-2 models saved by transformers into a Hugging Face cache.
"""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nanogpt_titan.nanogpt.arguments import read_config
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts import TRAIN_CONFIGS
from nanogpt_titan.nanogpt.train import BASE_RECIPE, OPENAI_MODELS, estimate_loss, torchtitan_arguments
from nanogpt_titan.optim import nanogpt_lr_factor

transformers = pytest.importorskip("transformers")

CONFIGS = {
    "train_shakespeare_char.py": """
out_dir = 'out-shakespeare-char'
eval_interval = 250
eval_iters = 200
log_interval = 10
always_save_checkpoint = False
wandb_log = False
wandb_project = 'shakespeare-char'
wandb_run_name = 'mini-gpt'
dataset = 'shakespeare_char'
gradient_accumulation_steps = 1
batch_size = 64
block_size = 256
n_layer = 6
n_head = 6
n_embd = 384
dropout = 0.2
learning_rate = 1e-3
max_iters = 5000
lr_decay_iters = 5000
min_lr = 1e-4
beta2 = 0.99
warmup_iters = 100
""",
    "train_gpt2.py": """
wandb_log = True
wandb_project = 'owt'
wandb_run_name = 'gpt2-124M'
batch_size = 12
block_size = 1024
gradient_accumulation_steps = 5 * 8
max_iters = 600000
lr_decay_iters = 600000
eval_interval = 1000
eval_iters = 200
log_interval = 10
weight_decay = 1e-1
""",
    "finetune_shakespeare.py": """
import time
out_dir = 'out-shakespeare'
eval_interval = 5
eval_iters = 40
wandb_log = False
wandb_project = 'shakespeare'
wandb_run_name = 'ft-' + str(time.time())
dataset = 'shakespeare'
init_from = 'gpt2-xl'
always_save_checkpoint = False
batch_size = 1
gradient_accumulation_steps = 32
max_iters = 20
learning_rate = 3e-5
decay_lr = False
""",
    **{f"eval_{name.replace('-', '_')}.py": f"""
batch_size = 8
eval_iters = 500
eval_only = True
wandb_log = False
init_from = '{name}'
""" for name in OPENAI_MODELS},
}
TRAINING = ["train_shakespeare_char.py", "train_gpt2.py", "finetune_shakespeare.py"]
STAND_IN = {"n_embd": 32, "n_layer": 2, "n_head": 2}  # every OpenAI model's stand-in
BASE_CONFIG = TRAIN_CONFIGS / BASE_RECIPE


def bpe_folder(path: Path, tokens: int = 30_000) -> Path:
    path.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rng.integers(0, 50257, tokens, dtype=np.uint16).tofile(path / "train.bin")
    rng.integers(0, 50257, tokens // 10, dtype=np.uint16).tofile(path / "val.bin")
    return path


@pytest.fixture(scope="module")
def openai_cache(tmp_path_factory):
    """A Hugging Face cache holding small random GPT-2s under OpenAI's names, as transformers saves
    them (exact GELU, so that nanoGPT's network computes what transformers does)."""
    cache = tmp_path_factory.mktemp("hub")
    for name in OPENAI_MODELS:
        repo = cache / f"models--{name}"
        snapshot = repo / "snapshots" / "0123456789abcdef"
        config = transformers.GPT2Config(vocab_size=50257, n_positions=1024, activation_function="gelu", **STAND_IN)
        torch.manual_seed(len(name))
        transformers.GPT2LMHeadModel(config).save_pretrained(snapshot)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("0123456789abcdef")
    return cache


@pytest.fixture
def nanogpt_dir(tmp_path, monkeypatch, shakespeare, openai_cache):
    """A working directory as nanoGPT's: config/ with the seven configs, data/ with
    shakespeare_char (tiny Shakespeare's characters) and BPE stand-ins of shakespeare and
    openwebtext; OpenAI's weights in the Hugging Face cache."""
    import huggingface_hub.constants

    (tmp_path / "config").mkdir()
    for name, text in CONFIGS.items():
        (tmp_path / "config" / name).write_text(text)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "shakespeare_char").symlink_to(shakespeare.path)
    bpe_folder(tmp_path / "data" / "shakespeare")
    bpe_folder(tmp_path / "data" / "openwebtext")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(openai_cache))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def job_config_of(config: dict, processes: int = 1):
    from torchtitan.config import ConfigManager

    return ConfigManager().parse_args(torchtitan_arguments(config, processes))


def nanogpt_lr(config: dict, it: int) -> float:
    """train.py's learning rate at iteration `it` (its get_lr, or constant without decay_lr)."""
    lr, warmup, decay, min_lr = (config[k] for k in ("learning_rate", "warmup_iters", "lr_decay_iters", "min_lr"))
    if not config["decay_lr"]:
        return lr
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay:
        return min_lr
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * (it - warmup) / (decay - warmup))) * (lr - min_lr)


@pytest.mark.parametrize("name", TRAINING)
def test_a_training_config_is_translated_key_by_key(nanogpt_dir, name):
    """On a CPU, as nanoGPT's README runs them there (--device=cpu --compile=False)."""
    config = read_config([f"config/{name}", "--device=cpu", "--compile=False"])
    job = job_config_of(config)
    training, validation = job.training, job.validation
    assert (training.local_batch_size, training.global_batch_size // training.local_batch_size) == (
        config["batch_size"], config["gradient_accumulation_steps"])
    assert training.seq_len == validation.seq_len == config["block_size"]
    assert training.steps == config["max_iters"] + 1 and training.max_norm == config["grad_clip"]
    assert (job.optimizer.lr, job.optimizer.beta1, job.optimizer.beta2, job.optimizer.weight_decay) == (
        config["learning_rate"], config["beta1"], config["beta2"], config["weight_decay"])
    scheduler = job.lr_scheduler
    for it in (0, 1, config["warmup_iters"], config["max_iters"] // 2, config["max_iters"]):
        ours = config["learning_rate"] * nanogpt_lr_factor(it, scheduler.warmup_steps, scheduler.total_steps,
                                                             scheduler.min_lr_factor)
        assert ours == pytest.approx(nanogpt_lr(config, it), rel=1e-12), it
    assert (validation.freq, validation.steps, validation.local_batch_size) == (
        config["eval_interval"], config["eval_iters"], config["batch_size"])
    assert (job.metrics.log_freq, job.metrics.enable_wandb, job.job.dump_folder) == (
        config["log_interval"], config["wandb_log"], config["out_dir"])
    assert training.dataset_path == f"data/{config['dataset']}" and training.mixed_precision_param == "float32"
    if config["init_from"] == "scratch":
        assert job.model.flavor == (f"n_layer={config['n_layer']},n_head={config['n_head']},n_embd={config['n_embd']},"
                                    f"block_size={config['block_size']},dropout={config['dropout']},bias={config['bias']}")


def test_gpt2_124m_is_491520_tokens_an_iteration_on_every_number_of_processes_dividing_40(nanogpt_dir):
    config = read_config(["config/train_gpt2.py", "--device=cpu"])
    for processes in (1, 8, 40):
        job = job_config_of(config, processes)
        assert job.training.global_batch_size * job.training.seq_len == 491_520
    with pytest.raises(NanoGPTTitanError, match="gradient_accumulation_steps=40 is not a multiple of the 3 processes"):
        job_config_of(config, 3)


def test_the_command_draws_as_nanogpt_and_several_processes_are_nanogpts_ddp(nanogpt_dir):
    config = read_config(["config/train_gpt2.py", "--device=cpu"])
    single, eight = job_config_of(config), job_config_of(config, 8)
    assert single.debug.randomness == eight.debug.randomness == "nanogpt"
    assert (eight.parallelism.data_parallel_replicate_degree, eight.parallelism.data_parallel_shard_degree) == (8, 1)


@pytest.mark.slow
def test_nanogpts_shakespeare_char_config_trains_with_its_learning_rates_and_cadence(nanogpt_dir, repo_root):
    """The command itself, as a user runs it: nanoGPT's config with the README's CPU overrides,
    smaller still; torchtitan's entry point; every step's lr is train.py's, and the evaluations
    are nanoGPT's, at every eval_interval-th iteration."""
    result = subprocess.run(
        [sys.executable, "-c", "from nanogpt_titan.cli import main; raise SystemExit(main())", "train",
         "config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--eval_iters=2", "--log_interval=1",
         "--block_size=64", "--batch_size=12", "--n_layer=2", "--n_head=2", "--n_embd=64", "--max_iters=12",
         "--lr_decay_iters=10", "--warmup_iters=3", "--dropout=0.0", "--eval_interval=5",
         "--", "--metrics.log_freq", "4"],  # torchtitan's own, after the translation
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"CONFIG_FILE={BASE_CONFIG} ./run_train.sh --job.dump_folder out-shakespeare-char" in result.stderr
    records = [json.loads(line) for line in (nanogpt_dir / "out-shakespeare-char" / "metrics.jsonl").read_text().splitlines()]
    config = read_config(["config/train_shakespeare_char.py", "--lr_decay_iters=10", "--warmup_iters=3"])
    assert [r["step"] for r in records] == list(range(1, 14))
    assert [r["lr"] for r in records] == pytest.approx([nanogpt_lr(config, step - 1) for step in range(1, 14)], rel=1e-12)
    assert [r["step"] for r in records if "val_loss" in r] == [5, 10]  # nanoGPT's, as the command draws as nanoGPT
    assert "step 0: train loss " in result.stdout + result.stderr  # iteration 0's, before any update: logged
    assert [r["step"] for r in records if "grad_norm" in r] == [1, 4, 8, 12, 13]  # torchtitan logs step 1 too


@pytest.mark.slow
def test_gpt2_on_openwebtext_and_the_gpt2_xl_finetune_train_at_tiny_scale(nanogpt_dir, make_trainer):
    """train_gpt2.py on the BPE stand-in; finetune_shakespeare.py from the gpt2-xl stand-in, its
    positions cropped to block_size, at the constant learning rate of decay_lr = False."""
    tiny = ["--device=cpu", "--compile=False", "--max_iters=2", "--eval_interval=2", "--eval_iters=1",
            "--block_size=32", "--gradient_accumulation_steps=2"]
    gpt2 = read_config(["config/train_gpt2.py", *tiny, "--n_layer=1", "--n_head=2", "--n_embd=32", "--batch_size=2",
                        "--wandb_log=False"])
    trainer = make_trainer(str(BASE_CONFIG), *torchtitan_arguments(gpt2, 1)[2:], dump_folder=nanogpt_dir / "out")
    assert trainer.model_parts[0].model_args.vocab_size == 50304  # no meta.pkl: GPT-2 BPE, as nanoGPT pads it
    trainer.train()
    finetune = read_config(["config/finetune_shakespeare.py", *tiny])
    trainer = make_trainer(str(BASE_CONFIG), *torchtitan_arguments(finetune, 1)[2:], dump_folder=nanogpt_dir / "out")
    (model,) = trainer.model_parts
    assert (model.model_args.vocab_size, model.model_args.block_size, model.model_args.bias) == (50257, 32, True)
    assert Path("out-shakespeare/init_from-gpt2-xl-block32-dropout0.0/model_args.json").is_file()
    trainer.train()
    make_trainer.close()
    records = [json.loads(line) for line in Path("out-shakespeare/metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in records] == [3e-5] * 3


@pytest.mark.parametrize("name", OPENAI_MODELS)
def test_eval_only_reports_the_loss_transformers_computes_on_the_same_windows(nanogpt_dir, name, openai_cache):
    from nanogpt_titan.data.folder import DataFolder
    from nanogpt_titan.evaluate import random_batches

    config = read_config([f"config/eval_{name.replace('-', '_')}.py", "--device=cpu", "--eval_iters=2",
                          "--batch_size=2", "--block_size=128"])
    losses = estimate_loss(config)
    model = transformers.GPT2LMHeadModel.from_pretrained(next((openai_cache / f"models--{name}" / "snapshots").iterdir()))
    data = DataFolder(Path("data/openwebtext"))
    for split, loss in losses.items():
        with torch.no_grad():  # transformers' logits on nanoGPT's windows and targets
            theirs = [torch.nn.functional.cross_entropy(model(x).logits.flatten(0, 1), y.flatten())
                      for x, y in random_batches(data.split(split), 128, 2, 2, seed=1337)]
        assert abs(loss - torch.stack(theirs).mean().item()) <= 1e-5, split


def test_eval_only_prints_nanogpts_line_and_writes_nothing(nanogpt_dir, cli, capsys):
    assert cli("train", "config/eval_gpt2.py", "--device=cpu", "--eval_iters=1", "--batch_size=1",
               "--block_size=64") == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("step 0: train loss ") and ", val loss " in line
    assert sorted(p.name for p in nanogpt_dir.iterdir()) == ["config", "data"]


@pytest.mark.parametrize("arguments, message", [
    (["--dataset=nope"], "data/nope is not a folder: name a nanoGPT data folder"),
    (["--init_from=gpt2", "--dataset=openwebtext", "--block_size=2048"], "block_size=2048 exceeds the 1024 positions"),
    (["--init_from=resume"], "init_from='resume': out holds no torchtitan run to resume"),
    (["--init_from=somewhere"], "init_from='somewhere' is none of 'scratch', 'resume', 'gpt2'"),
    (["--device=mps"], "nanoGPT setting device='mps' is not supported: torchtitan trains on 'cuda' ('cuda:N') or 'cpu'"),
    (["--device=cuda"], "device='cuda': this machine has no CUDA device; pass --device=cpu, as nanoGPT's README does"),
])
def test_bad_settings_are_one_line_and_nothing_is_written(nanogpt_dir, cli, capsys, arguments, message):
    assert cli("train", "--dataset=shakespeare_char", "--device=cpu", *arguments) == 2
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert error.startswith("nanogpt-titan train: error: ") and message in error
    assert sorted(p.name for p in nanogpt_dir.iterdir()) == ["config", "data"]


def test_float16_on_cuda_is_refused_with_the_reason():
    from nanogpt_titan.nanogpt.translation import job_settings

    with pytest.raises(NanoGPTTitanError, match=r"^nanoGPT setting dtype='float16' is not supported: torchtitan has no "
                                                r"float16 loss scaling \(nanoGPT's GradScaler\): use 'bfloat16'$"):
        job_settings({"device": "cuda", "dtype": "float16"})


def test_openais_weights_missing_from_the_cache_name_the_download(nanogpt_dir, cli, capsys, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    assert cli("train", "config/eval_gpt2.py", "--device=cpu") == 2
    assert capsys.readouterr().err.strip() == (
        f"nanogpt-titan train: error: init_from='gpt2': OpenAI's weights are not in the Hugging Face cache "
        f"({tmp_path / 'empty'}); download them once: huggingface-cli download gpt2 config.json model.safetensors")


def test_eval_gpt2_from_a_hugging_face_folder_named_by_init_from(nanogpt_dir, cli, capsys, openai_cache):
    folder = next((openai_cache / "models--gpt2-medium" / "snapshots").iterdir())
    arguments = ["config/eval_gpt2.py", "--device=cpu", "--eval_iters=1", "--batch_size=1", "--block_size=64",
                 f"--init_from={folder}"]
    assert cli("train", *arguments) == 0
    losses = estimate_loss(read_config(arguments))
    assert capsys.readouterr().out == f"step 0: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}\n"


CPU_RECIPE = ["--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1", "--block_size=64",
              "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128", "--max_iters=2000",
              "--lr_decay_iters=2000", "--dropout=0.0"]  # nanoGPT README's CPU run


def nanogpt_log(path: Path) -> tuple[dict[int, str], dict[int, float]]:
    """nanoGPT's stdout: its evaluation lines by iteration, and each iteration's printed loss."""
    evaluations, losses = {}, {}
    for line in path.read_text().splitlines():
        if match := re.match(r"step (\d+): train loss [\d.]+, val loss [\d.]+$", line):
            evaluations[int(match[1])] = line
        elif match := re.match(r"iter (\d+): loss ([\d.]+)", line):
            losses[int(match[1])] = float(match[2])
    return evaluations, losses


@pytest.mark.slow
def test_nanogpts_cpu_recipe_from_its_seed_prints_nanogpts_log(nanogpt_dir, repo_root):
    """The first 250 of nanoGPT's CPU recipe's 2000 iterations, from the seed alone (the command
    draws as nanoGPT by default): the evaluations at iterations 0 and 250 print nanoGPT's lines,
    and every iteration's loss is the one nanoGPT printed, to its four decimals (the full run,
    all nine evaluations: docs/results.md)."""
    evaluations, losses = nanogpt_log(repo_root / "tests" / "fixtures" / "nanogpt" / "cpu_recipe_seed1337.log")
    result = subprocess.run(
        [sys.executable, "-c", "from nanogpt_titan.cli import main; raise SystemExit(main())", "train",
         "config/train_shakespeare_char.py", *CPU_RECIPE, "--max_iters=250"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = (result.stdout + result.stderr).splitlines()
    printed = [line.split(" - ")[-1] for line in output if re.search(r"step \d+: train loss", line)]
    assert printed == [evaluations[0], evaluations[250]]
    records = [json.loads(line) for line in (nanogpt_dir / "out-shakespeare-char" / "metrics.jsonl").read_text().splitlines()]
    assert max(abs(r["loss"] - losses[r["step"] - 1]) for r in records) <= 0.5e-4 + 1e-6  # nanoGPT's rounding
