"""The entry point of torchtitan's Configurable releases (0.3.0, main): `python -m torchtitan.train
--module nanogpt_titan --config F` (or `MODULE=nanogpt_titan CONFIG=F ./run_train.sh`) imports this
module and trains the Config that `F()` returns. The recipes are those of torchtitan 0.2's TOML
files, setting for setting (`nanogpt_titan.hosts.configurable.recipes`); `--section.key value`
overrides them as on 0.2.

Importing this module prepares torchtitan to run the nanogpt model, as 0.2's
`nanogpt_titan.plugin` does (`nanogpt_titan.hosts.training_process`).
"""

from nanogpt_titan.hosts import trainer_class
from nanogpt_titan.hosts.configurable.recipes import RECIPES, toml_settings, trainer_config
from nanogpt_titan.hosts.training_process import prepare_training_process
from nanogpt_titan.nanogpt.arguments import TRAIN_PY_DEFAULTS
from nanogpt_titan.nanogpt.translation import job_settings

GPT2_RUN = {**TRAIN_PY_DEFAULTS, "dtype": "bfloat16"}  # train.py's own run: GPT-2 124M on A100s


def _recipe(name: str, settings: dict[str, object] | None = None):
    return trainer_config({**toml_settings(RECIPES[name]), **(settings or {})}, trainer_class())


def nanogpt_debugmodel():
    """`train_configs/debug_model.toml`: a tiny model that trains in seconds on a CPU."""
    return _recipe("nanogpt_debugmodel")


def nanogpt_shakespeare_cpu():
    """`train_configs/shakespeare_cpu.toml`: nanoGPT README's CPU recipe of shakespeare-char."""
    return _recipe("nanogpt_shakespeare_cpu")


def nanogpt_mini_gpt():
    """`train_configs/mini-gpt.toml`: nanoGPT's config/train_shakespeare_char.py."""
    return _recipe("nanogpt_mini_gpt")


def _gpt2(flavor: str):
    """nanoGPT's `train.py` as it stands (GPT-2 on OpenWebText, `data/openwebtext`), one model size."""
    return _recipe("nanogpt_gpt2", {**job_settings(GPT2_RUN), "model.flavor": flavor})


def nanogpt_gpt2():
    return _gpt2("gpt2")


def nanogpt_gpt2_medium():
    return _gpt2("gpt2-medium")


def nanogpt_gpt2_large():
    return _gpt2("gpt2-large")


def nanogpt_gpt2_xl():
    return _gpt2("gpt2-xl")


prepare_training_process()
