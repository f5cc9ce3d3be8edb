"""torchtitan 0.3's configs: the shipped recipes setting for setting, the same settings on the
command line as in the Config, and what 0.3 cannot express refused by name."""

import os

import pytest
from torchtitan.config import ConfigManager

import nanogpt_titan.config_registry as registry
from nanogpt_titan.configurator import TRAIN_PY_DEFAULTS
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_3.configs import HOST_SETTINGS, RECIPES, cli_arguments, toml_settings, trainer_config
from nanogpt_titan.hosts.v0_3.launch import as_one_process_unless_launched
from nanogpt_titan.nanogpt_config import job_settings

def value_on_0_3(config, setting: str):
    """The 0.3 Config's value of torchtitan 0.2's `setting`."""
    renamed = {"job.dump_folder": "dump_folder", "model.hf_assets_path": "hf_assets_path", "model.flavor": "flavor",
               "training.dataset": "dataloader.dataset", "training.dataset_path": "dataloader.dataset_path",
               "validation.enable": "validator.enable", "validation.freq": "validator.freq",
               "validation.steps": "validator.steps", "validation.dataset": "validator.dataset",
               "validation.local_batch_size": "validator.batch_size", "validation.seq_len": "validator.context",
               "debug.randomness": "randomness"}
    if setting == "activation_checkpoint.mode":
        return type(config.activation_checkpoint).__qualname__ if config.activation_checkpoint else "none"
    value = config
    for name in renamed.get(setting, setting).split("."):
        value = getattr(value, name)
    return value


def expected_on_0_3(setting: str, value):
    if setting == "optimizer.name":
        return value.removeprefix("NanoGPT")
    return value


def recipe_settings():
    yield from ((function, toml_settings(toml)) for function, toml in RECIPES.items() if function != "nanogpt_gpt2")
    for function, flavor in (("nanogpt_gpt2", "gpt2"), ("nanogpt_gpt2_xl", "gpt2-xl")):
        gpt2 = {**toml_settings("nanogpt.toml"), **job_settings(TRAIN_PY_DEFAULTS), "model.flavor": flavor}
        yield function, gpt2


@pytest.mark.parametrize("function, settings", list(recipe_settings()), ids=lambda x: x if isinstance(x, str) else "")
def test_each_config_holds_its_recipes_every_setting(function, settings):
    config = getattr(registry, function)()
    compared = [setting for setting in settings if setting not in HOST_SETTINGS]
    assert len(compared) > 20
    for setting in compared:
        assert value_on_0_3(config, setting) == expected_on_0_3(setting, settings[setting]), setting


OVERRIDES = {
    "training.steps": 7, "training.local_batch_size": 4, "training.global_batch_size": 16, "model.flavor": "mini-gpt",
    "training.seq_len": 128, "validation.seq_len": 96, "validation.local_batch_size": 2,
    "validation.freq": 3, "checkpoint.enable": False, "compile.enable": True, "optimizer.lr": 0.002,
    "job.dump_folder": "/tmp/elsewhere", "training.dataset_path": "data/x", "activation_checkpoint.mode": "full",
    "debug.seed": 7, "debug.randomness": "nanogpt",
}


def test_the_command_line_and_the_config_say_the_same(monkeypatch):
    """Settings rendered as 0.3 flags and parsed by torchtitan's own ConfigManager give the
    Config that the same settings give placed directly."""
    direct = trainer_config({**toml_settings("debug_model.toml"), **OVERRIDES})
    parsed = ConfigManager().parse_args(["--module", "nanogpt_titan", "--config", "nanogpt_debugmodel",
                                         *cli_arguments(OVERRIDES)])
    for setting in [*toml_settings("debug_model.toml"), *OVERRIDES]:
        if setting not in HOST_SETTINGS:
            assert value_on_0_3(parsed, setting) == value_on_0_3(direct, setting), setting
    assert parsed.model_spec.model.args == direct.model_spec.model.args
    assert parsed.dataloader.seed == 7 and parsed.dataloader.global_batch_size == 16  # handed over


@pytest.mark.parametrize("settings, fact", [
    ({"model.converters": ["float8"]}, "setting model.converters has no torchtitan 0.3 form"),
    ({"training.bogus": 1}, "setting training.bogus has no torchtitan 0.3 form"),
])
def test_what_0_3_cannot_express_is_refused_by_name(settings, fact):
    with pytest.raises(NanoGPTTitanError, match=fact):
        trainer_config({**toml_settings("debug_model.toml"), **settings})


def test_a_command_without_torchrun_is_a_job_of_one_process(monkeypatch):
    for variable in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(variable, raising=False)
    as_one_process_unless_launched()
    assert [os.environ[v] for v in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR")] == ["0", "0", "1", "127.0.0.1"]
    assert int(os.environ["MASTER_PORT"]) > 0


def test_a_launched_process_keeps_its_place(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.delenv("MASTER_PORT", raising=False)
    as_one_process_unless_launched()
    assert os.environ["RANK"] == "3" and "MASTER_PORT" not in os.environ
