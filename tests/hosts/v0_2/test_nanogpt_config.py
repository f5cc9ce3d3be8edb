"""The translation of nanoGPT's train.py settings into torchtitan 0.2's JobConfig: the shipped recipes,
and every setting through its command line."""

import pytest

from nanogpt_titan.flags import flags
from nanogpt_titan.hosts.v0_2.train_spec import nanogpt_args
from nanogpt_titan.nanogpt.translation import job_settings, model_args


def setting(job_config, name: str):
    section, key = name.split(".")
    return getattr(getattr(job_config, section), key)


# The shipped configs name their own dump folder and flavor, and read tiny Shakespeare's text
# (prepared into the cache) where nanoGPT reads its data/shakespeare_char: the same tokens.
WHERE_AND_WHAT = ("job.dump_folder", "model.flavor", "training.dataset", "training.dataset_path", "validation.dataset")


@pytest.mark.parametrize(
    "toml, flavor, config",
    [
        ("mini-gpt.toml", "mini-gpt", "shakespeare_char"),
        ("shakespeare_cpu.toml", "shakespeare-cpu", "cpu_recipe"),
    ],
)
def test_shipped_configs_are_the_translation_of_nanogpts(request, parse_config, toml, flavor, config):
    config = request.getfixturevalue(config)
    job_config = parse_config(toml)
    settings = {name: value for name, value in job_settings(config).items() if name not in WHERE_AND_WHAT}
    assert {name: setting(job_config, name) for name in settings} == settings
    assert model_args(config) == nanogpt_args[flavor] == nanogpt_args[job_settings(config)["model.flavor"]]


def test_every_setting_reaches_torchtitans_job_config(parse_config, cpu_recipe):
    config = {**cpu_recipe, "gradient_accumulation_steps": 3, "grad_clip": 0.0, "compile": True, "log_interval": 7}
    settings = job_settings(config)
    assert {name: setting(parse_config("debug_model.toml", *flags(settings)), name) for name in settings} == settings
