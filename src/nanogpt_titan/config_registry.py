"""torchtitan 0.3's entry point: `python -m torchtitan.train --module nanogpt_titan --config F`
(or `MODULE=nanogpt_titan CONFIG=F ./run_train.sh`) imports this module and trains the Config
that `F()` returns. The recipes are those of torchtitan 0.2's TOML files, setting for setting
(`nanogpt_titan.hosts.v0_3.configs`); `--section.key value` overrides them as on 0.2.

Importing this module prepares torchtitan 0.3 to run the nanogpt model, as 0.2's
`nanogpt_titan.plugin` does: on a machine without CUDA it adapts torchtitan to the CPU, and a
user error ends the run in one line, and a command without torchrun is a job of one process.
"""

import torch

from nanogpt_titan.configurator import TRAIN_PY_DEFAULTS
from nanogpt_titan.hosts.cpu_adaptation import adapt_torchtitan_to_cpu
from nanogpt_titan.hosts.v0_3.configs import RECIPES, toml_settings, trainer_config
from nanogpt_titan.hosts.v0_3.launch import as_one_process_unless_launched
from nanogpt_titan.hosts.v0_3.trainer import NanoGPTTrainer
from nanogpt_titan.nanogpt_config import job_settings
from nanogpt_titan.process import prepare_training_process


def nanogpt_debugmodel() -> NanoGPTTrainer.Config:
    """`train_configs/debug_model.toml`: a tiny model that trains in seconds on a CPU."""
    return trainer_config(toml_settings(RECIPES["nanogpt_debugmodel"]))


def nanogpt_shakespeare_cpu() -> NanoGPTTrainer.Config:
    """`train_configs/shakespeare_cpu.toml`: nanoGPT README's CPU recipe of shakespeare-char."""
    return trainer_config(toml_settings(RECIPES["nanogpt_shakespeare_cpu"]))


def nanogpt_mini_gpt() -> NanoGPTTrainer.Config:
    """`train_configs/mini-gpt.toml`: nanoGPT's config/train_shakespeare_char.py."""
    return trainer_config(toml_settings(RECIPES["nanogpt_mini_gpt"]))


def _gpt2(flavor: str) -> NanoGPTTrainer.Config:
    """nanoGPT's `train.py` as it stands (GPT-2 on OpenWebText, `data/openwebtext`), one model size."""
    settings = {**toml_settings(RECIPES["nanogpt_gpt2"]), **job_settings(TRAIN_PY_DEFAULTS)}
    return trainer_config({**settings, "model.flavor": flavor})


def nanogpt_gpt2() -> NanoGPTTrainer.Config:
    return _gpt2("gpt2")


def nanogpt_gpt2_medium() -> NanoGPTTrainer.Config:
    return _gpt2("gpt2-medium")


def nanogpt_gpt2_large() -> NanoGPTTrainer.Config:
    return _gpt2("gpt2-large")


def nanogpt_gpt2_xl() -> NanoGPTTrainer.Config:
    return _gpt2("gpt2-xl")


if not torch.cuda.is_available():
    adapt_torchtitan_to_cpu()
as_one_process_unless_launched()
prepare_training_process()
