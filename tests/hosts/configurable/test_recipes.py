"""The recipes on torchtitan's Configurable releases (0.3.0, main): the shipped recipes setting for
setting, the same settings on the command line as in the Config, and what these releases cannot
express refused by name."""

import pytest
from torchtitan.config import ConfigManager

import nanogpt_titan.config_registry as registry
from nanogpt_titan.data.datasets import BatchSettings
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts import installed_host, trainer_class
from nanogpt_titan.hosts.configurable.batch_counts import BATCH_COUNTS
from nanogpt_titan.hosts.configurable.recipes import (
    BATCH,
    HOST_SETTINGS,
    RECIPES,
    RENAMED,
    cli_arguments,
    toml_settings,
    trainer_config,
)
from nanogpt_titan.nanogpt.translation import job_settings

TRAINER = trainer_class()


def value_of(config, setting: str):
    """The release's Config's value of torchtitan 0.2's `setting` (its batch settings in windows)."""
    if setting == "activation_checkpoint.mode":
        return type(config.activation_checkpoint).__qualname__ if config.activation_checkpoint else "none"
    if setting in BATCH:
        batches = TRAINER.Config.batch_counts.batch_settings_of(config.training)
        return {
            "training.local_batch_size": batches.local_batch_size,
            "training.seq_len": batches.seq_len,
            "training.global_batch_size": batches.global_batch_size,
        }[setting]
    value = config
    for name in RENAMED.get(setting, setting).split("."):
        value = getattr(value, name)
    return value


def expected(setting: str, value):
    return value.removeprefix("NanoGPT") if setting == "optimizer.name" else value


def recipe_settings():
    yield from ((function, toml_settings(toml)) for function, toml in RECIPES.items() if function != "nanogpt_gpt2")
    for function, flavor in (("nanogpt_gpt2", "gpt2"), ("nanogpt_gpt2_xl", "gpt2-xl")):
        yield function, {**toml_settings("nanogpt.toml"), **job_settings(registry.GPT2_RUN), "model.flavor": flavor}


@pytest.mark.parametrize("function, settings", list(recipe_settings()), ids=lambda x: x if isinstance(x, str) else "")
def test_each_config_holds_its_recipes_every_setting(function, settings):
    config = getattr(registry, function)()
    compared = [setting for setting in settings if setting not in HOST_SETTINGS]
    assert len(compared) > 20
    for setting in compared:
        assert value_of(config, setting) == expected(setting, settings[setting]), setting


OVERRIDES = {
    "training.steps": 7,
    "training.local_batch_size": 4,
    "training.global_batch_size": 16,
    "model.flavor": "mini-gpt",
    "training.seq_len": 128,
    "validation.seq_len": 96,
    "validation.local_batch_size": 2,
    "validation.freq": 3,
    "checkpoint.enable": False,
    "compile.enable": True,
    "optimizer.lr": 0.002,
    "job.dump_folder": "/tmp/elsewhere",
    "training.dataset_path": "data/x",
    "activation_checkpoint.mode": "full",
    "debug.seed": 7,
    "debug.randomness": "nanogpt",
    "parallelism.data_parallel_replicate_degree": 2,
}


def test_the_command_line_and_the_config_say_the_same():
    """Settings rendered as the release's flags and parsed by torchtitan's own ConfigManager give
    the Config that the same settings give placed directly."""
    direct = trainer_config({**toml_settings("debug_model.toml"), **OVERRIDES}, TRAINER)
    parsed = ConfigManager().parse_args(
        [
            "--module",
            "nanogpt_titan",
            "--config",
            "nanogpt_debugmodel",
            *cli_arguments(OVERRIDES, TRAINER.Config.batch_counts),
        ]
    )
    for setting in [*toml_settings("debug_model.toml"), *OVERRIDES]:
        if setting not in HOST_SETTINGS:
            assert value_of(parsed, setting) == value_of(direct, setting), setting
    assert parsed.model_spec.model.args == direct.model_spec.model.args
    assert parsed.dataloader.data == direct.dataloader.data  # handed over from the same settings
    assert parsed.dataloader.data.batches == BatchSettings(4, 128, 16)


def test_a_command_line_counts_the_batch_as_the_installed_release_does():
    """Written without importing torchtitan (`nanogpt_titan.hosts.override_arguments`)."""
    assert TRAINER.Config.batch_counts is BATCH_COUNTS[installed_host()]


@pytest.mark.parametrize("batches", [BatchSettings(8, 64, -1), BatchSettings(4, 256, 32), BatchSettings(12, 64, 24)])
def test_the_releases_batch_settings_read_back_as_they_were_written(batches):
    from torchtitan.config import TrainingConfig

    training = TrainingConfig(**TRAINER.Config.batch_counts.training_settings(batches))
    assert TRAINER.Config.batch_counts.batch_settings_of(training) == batches


@pytest.mark.parametrize(
    "settings, fact",
    [
        ({"model.converters": ["float8"]}, "setting model.converters has no form on this torchtitan"),
        ({"training.bogus": 1}, "setting training.bogus has no form on this torchtitan"),
    ],
)
def test_what_these_releases_cannot_express_is_refused_by_name(settings, fact):
    with pytest.raises(NanoGPTTitanError, match=fact):
        trainer_config({**toml_settings("debug_model.toml"), **settings}, TRAINER)


def test_torchtitan_0_2s_config_file_of_a_shipped_recipe_names_its_config_function(tmp_path):
    from nanogpt_titan.hosts import TRAIN_CONFIGS, recipe_config

    assert {recipe_config(str(TRAIN_CONFIGS / toml)) for toml in RECIPES.values()} == set(RECIPES)
    edited = tmp_path / "debug_model.toml"  # a shipped recipe's name, another recipe's settings
    edited.write_text((TRAIN_CONFIGS / "debug_model.toml").read_text().replace("steps = ", "steps = 1"))
    for config_file in (edited, tmp_path / "absent.toml"):
        with pytest.raises(
            NanoGPTTitanError,
            match=rf"^CONFIG_FILE={config_file} is not one of the shipped recipes; "
            r"torchtitan \S+ takes config functions: CONFIG=one of "
            r"nanogpt_debugmodel, .*\(nanogpt_titan.config_registry\)$",
        ):
            recipe_config(str(config_file))
