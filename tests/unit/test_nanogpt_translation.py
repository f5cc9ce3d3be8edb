"""The translation of nanoGPT's train.py settings into torchtitan's: setting by setting, and
every configuration train.py accepts either trained as train.py trains it or refused with the
reason. (The shipped recipes as its translation: each adapter's tests, in its host's terms.)"""

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.configurable.recipes import toml_settings
from nanogpt_titan.nanogpt.arguments import TRAIN_PY_DEFAULTS, read_config
from nanogpt_titan.nanogpt.translation import job_settings
from nanogpt_titan.optim import nanogpt_lr_factor


def learning_rate(settings: dict, it: int) -> float:
    """The rate the translated schedule gives at nanoGPT's iteration `it` (torchtitan's step it + 1)."""
    return settings["optimizer.lr"] * nanogpt_lr_factor(
        it,
        settings["lr_scheduler.warmup_steps"],
        settings["lr_scheduler.total_steps"],
        settings["lr_scheduler.min_lr_factor"],
    )


@pytest.mark.parametrize("name", ["train_shakespeare_char.py", "train_gpt2.py", "finetune_shakespeare.py"])
def test_a_training_config_is_translated_key_by_key(nanogpt_dir, train_py_lr, name):
    """On a CPU, as nanoGPT's README runs them there (--device=cpu --compile=False)."""
    config = read_config([f"config/{name}", "--device=cpu", "--compile=False"])
    settings = job_settings(config)
    assert (settings["training.local_batch_size"], settings["training.global_batch_size"]) == (
        config["batch_size"],
        config["batch_size"] * config["gradient_accumulation_steps"],
    )
    assert settings["training.seq_len"] == settings["validation.seq_len"] == config["block_size"]
    assert (settings["training.steps"], settings["training.max_norm"]) == (config["max_iters"] + 1, config["grad_clip"])
    assert [settings[f"optimizer.{key}"] for key in ("lr", "beta1", "beta2", "weight_decay")] == [
        config[key] for key in ("learning_rate", "beta1", "beta2", "weight_decay")
    ]
    for it in (0, 1, config["warmup_iters"], config["max_iters"] // 2, config["max_iters"]):
        assert learning_rate(settings, it) == pytest.approx(train_py_lr(config, it), rel=1e-12), it
    assert [settings[f"validation.{key}"] for key in ("freq", "steps", "local_batch_size")] == [
        config[key] for key in ("eval_interval", "eval_iters", "batch_size")
    ]
    assert (settings["metrics.log_freq"], settings["metrics.enable_wandb"], settings["job.dump_folder"]) == (
        config["log_interval"],
        config["wandb_log"],
        config["out_dir"],
    )
    assert settings["training.dataset_path"] == f"data/{config['dataset']}"
    assert settings["training.mixed_precision_param"] == "float32"  # nanoGPT: no autocast on a CPU
    assert settings["model.flavor"] == ",".join(
        f"{key}={config[key]!r}" for key in ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias")
    )


def test_the_base_recipe_draws_as_nanogpt():
    assert toml_settings("nanogpt.toml")["debug.randomness"] == "nanogpt"


def test_global_batch_steps_and_no_clipping(cpu_recipe):
    settings = job_settings({**cpu_recipe, "gradient_accumulation_steps": 3, "grad_clip": 0.0})
    assert (settings["training.global_batch_size"], settings["training.steps"]) == (36, 2001)
    assert settings["training.max_norm"] == math.inf  # nanoGPT's grad_clip = 0: no clipping


def test_constant_learning_rate_without_decay(shakespeare_char):
    settings = job_settings({**shakespeare_char, "decay_lr": False, "lr_decay_iters": 0, "warmup_iters": 0})
    assert {learning_rate(settings, it) for it in range(0, 6000, 97)} == {1e-3}


def test_dtype_applies_on_cuda_only(shakespeare_char, cpu_recipe):
    assert job_settings(shakespeare_char)["training.mixed_precision_param"] == "bfloat16"
    assert job_settings(cpu_recipe)["training.mixed_precision_param"] == "float32"
    assert job_settings({**cpu_recipe, "dtype": "float16"})["optimizer.implementation"] == "foreach"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"seed": 3}, "nanoGPT config keys ['seed'] have no torchtitan translation"),
        ({"device": "mps"}, "nanoGPT setting device='mps' is not supported: torchtitan trains on 'cuda'"),
        (
            {"dtype": "float16"},
            "nanoGPT setting dtype='float16' is not supported: torchtitan has no float16 loss scaling",
        ),
        ({"eval_interval": 0}, "nanoGPT setting eval_interval=0 must be at least 1"),
        ({"max_iters": -1}, "nanoGPT setting max_iters=-1 is not supported: train.py runs iterations 0..max_iters"),
        ({"grad_clip": -1.0}, "nanoGPT setting grad_clip=-1.0 is not supported: a norm to clip to is >= 0"),
        (
            {"warmup_iters": 60, "lr_decay_iters": 60},
            "nanoGPT setting lr_decay_iters=60 is not supported: it equals "
            "warmup_iters, and train.py's get_lr divides zero by zero at "
            "iteration 60",
        ),
        (
            {"learning_rate": 0.0},
            "nanoGPT setting min_lr=0.0001 is not supported: torchtitan's schedule scales learning_rate, which is 0",
        ),
        (
            {"beta2": 1.5},
            "nanoGPT's AdamW settings (learning_rate, beta1, beta2, weight_decay) are refused by torch: "
            "Invalid beta parameter at index 1: 1.5",
        ),
        ({"n_head": 5}, "n_embd=384 is not divisible by n_head=5"),
    ],
)
def test_settings_without_a_translation_are_refused_by_name(shakespeare_char, change, message):
    with pytest.raises(NanoGPTTitanError, match=f"^{re.escape(message)}"):
        job_settings({**shakespeare_char, **change})


def test_the_shakespeare_char_recipe_is_accepted_at_a_horizon_inside_its_warmup(cpu_recipe, train_py_lr):
    """max_iters=60, lr_decay_iters=60 under the config's warmup_iters=100: get_lr stays in warmup."""
    config = {**cpu_recipe, "max_iters": 60, "lr_decay_iters": 60}
    settings = job_settings(config)
    assert [learning_rate(settings, it) for it in range(61)] == pytest.approx(
        [train_py_lr(config, it) for it in range(61)], rel=1e-12
    )


SETTINGS = {
    "max_iters": st.integers(-2, 400),
    "warmup_iters": st.integers(-3, 400),
    "lr_decay_iters": st.integers(-3, 400),
    "learning_rate": st.sampled_from([0.0, 6e-4, 1e-3, 1.0, -1e-3]),
    "min_lr": st.sampled_from([0.0, 6e-5, 2e-3, -1e-5]),
    "decay_lr": st.booleans(),
    "batch_size": st.integers(0, 4),
    "block_size": st.integers(0, 4),
    "gradient_accumulation_steps": st.integers(0, 4),
    "eval_interval": st.integers(0, 3),
    "log_interval": st.integers(0, 3),
    "eval_iters": st.integers(0, 3),
    "grad_clip": st.sampled_from([0.0, 1.0, -1.0]),
    "beta1": st.sampled_from([0.9, 1.0]),
    "beta2": st.sampled_from([0.95, -0.1]),
    "weight_decay": st.sampled_from([0.0, 0.1, -0.1]),
    "dropout": st.sampled_from([0.0, 0.2, 1.0]),
    "n_head": st.integers(0, 3),
    "n_embd": st.sampled_from([0, 12, 13]),
    "n_layer": st.integers(0, 2),
    "device": st.sampled_from(["cpu", "cuda", "cuda:1", "mps"]),
    "dtype": st.sampled_from(["float32", "bfloat16", "float16"]),
}


@given(st.fixed_dictionaries(SETTINGS))
def test_every_configuration_is_train_pys_or_refused_in_one_line(train_py_lr, changes):
    """Drawn over train.py's settings: a configuration is either refused with one line naming a
    setting, or translated so that torchtitan trains what train.py trains: its batches, its steps
    and its learning rate at every iteration (and train.py itself could run it: no division by
    zero, torch's AdamW takes the settings)."""
    import torch

    config = {**TRAIN_PY_DEFAULTS, **changes}
    try:
        settings = job_settings(config)
    except NanoGPTTitanError as error:
        assert "\n" not in str(error)
        return
    for it in range(config["max_iters"] + 1):  # each iteration train.py runs
        assert learning_rate(settings, it) == pytest.approx(train_py_lr(config, it), rel=1e-12, abs=1e-18), it
    assert settings["training.steps"] == config["max_iters"] + 1
    assert settings["training.global_batch_size"] == config["batch_size"] * config["gradient_accumulation_steps"] > 0
    assert min(config[key] for key in ("eval_interval", "log_interval", "eval_iters", "block_size")) >= 1
    torch.optim.AdamW(
        [torch.zeros(1, requires_grad=True)],
        lr=settings["optimizer.lr"],
        betas=(settings["optimizer.beta1"], settings["optimizer.beta2"]),
        weight_decay=settings["optimizer.weight_decay"],
    )
