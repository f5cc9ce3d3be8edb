"""The translation of nanoGPT's train.py settings into torchtitan's."""

import re

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.nanogpt.translation import (
    SHAKESPEARE_CHAR,
    cli_overrides,
    job_settings,
    model_args,
)
from nanogpt_titan.hosts.v0_2.train_spec import nanogpt_args

CPU_RECIPE = {  # nanoGPT README's CPU run of the shakespeare-char config
    **SHAKESPEARE_CHAR, "device": "cpu", "compile": False, "eval_iters": 20, "block_size": 64, "batch_size": 12,
    "n_layer": 4, "n_head": 4, "n_embd": 128, "max_iters": 2000, "lr_decay_iters": 2000, "dropout": 0.0,
}


def setting(job_config, name: str):
    section, key = name.split(".")
    return getattr(getattr(job_config, section), key)


# The shipped configs name their own dump folder and flavor, and read tiny Shakespeare's text
# (prepared into the cache) where nanoGPT reads its data/shakespeare_char: the same tokens.
WHERE_AND_WHAT = ("job.dump_folder", "model.flavor", "training.dataset", "training.dataset_path", "validation.dataset")


@pytest.mark.parametrize("toml, flavor, config", [
    ("mini-gpt.toml", "mini-gpt", SHAKESPEARE_CHAR),
    ("shakespeare_cpu.toml", "shakespeare-cpu", CPU_RECIPE),
])
def test_shipped_configs_are_the_translation_of_nanogpts(parse_config, toml, flavor, config):
    job_config = parse_config(toml)
    settings = {name: value for name, value in job_settings(config).items() if name not in WHERE_AND_WHAT}
    assert {name: setting(job_config, name) for name in settings} == settings
    assert model_args(config) == nanogpt_args[flavor] == nanogpt_args[job_settings(config)["model.flavor"]]


def test_every_setting_reaches_torchtitans_job_config(parse_config):
    config = {**CPU_RECIPE, "gradient_accumulation_steps": 3, "grad_clip": 0.0, "compile": True, "log_interval": 7}
    settings = job_settings(config)
    assert {name: setting(parse_config("debug_model.toml", *cli_overrides(settings)), name) for name in settings} == settings
    assert settings["training.global_batch_size"] == 36 and settings["training.steps"] == 2001
    assert settings["training.max_norm"] == float("inf")  # nanoGPT's grad_clip = 0: no clipping


def test_constant_learning_rate_without_decay():
    settings = job_settings({**SHAKESPEARE_CHAR, "decay_lr": False})
    assert (settings["lr_scheduler.warmup_steps"], settings["lr_scheduler.min_lr_factor"]) == (0, 1.0)


def test_dtype_applies_on_cuda_only():
    assert job_settings(SHAKESPEARE_CHAR)["training.mixed_precision_param"] == "bfloat16"
    assert job_settings(CPU_RECIPE)["training.mixed_precision_param"] == "float32"  # nanoGPT: no autocast on CPU
    assert job_settings({**CPU_RECIPE, "dtype": "float16"})["optimizer.implementation"] == "foreach"


@pytest.mark.parametrize("change, message", [
    ({"seed": 3}, "nanoGPT config keys ['seed'] have no torchtitan translation"),
    ({"device": "mps"}, "nanoGPT setting device='mps' is not supported: torchtitan trains on 'cuda'"),
    ({"dtype": "float16"}, "nanoGPT setting dtype='float16' is not supported: torchtitan has no float16 loss scaling"),
])
def test_settings_without_a_translation_are_refused_by_name(change, message):
    with pytest.raises(NanoGPTTitanError, match=re.escape(message)):
        job_settings({**SHAKESPEARE_CHAR, **change})
