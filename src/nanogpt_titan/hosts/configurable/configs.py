"""The recipes on torchtitan 0.3, from the settings torchtitan 0.2 reads: the shipped TOML files
(`train_configs/`) and nanoGPT's `train.py` translated (`nanogpt_titan.nanogpt_config`). One
table renames the settings that 0.3 keeps elsewhere; each setting is then placed in 0.3's
Config (`trainer_config`) or on its command line (`cli_arguments`). One recipe, two hosts; a
setting 0.3 cannot express is refused by name."""

import tomllib
from dataclasses import fields

from torchtitan.components.checkpoint import CheckpointManager
from torchtitan.config import CommConfig, CompileConfig, DebugConfig, TrainingConfig
from torchtitan.distributed.activation_checkpoint import FullAC, SelectiveAC

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts import TRAIN_CONFIGS
from nanogpt_titan.hosts.v0_3.data import NanoGPTDataLoader
from nanogpt_titan.hosts.v0_3.metrics import NanoGPTMetricsProcessor
from nanogpt_titan.hosts.v0_3.optimizer import NanoGPTLRSchedulers, NanoGPTOptimizers
from nanogpt_titan.hosts.v0_3.trainer import NanoGPTTrainer
from nanogpt_titan.hosts.v0_3.validate import NanoGPTValidator

# The config functions of `nanogpt_titan.config_registry`, and the TOML recipe each one is.
RECIPES = {"nanogpt_debugmodel": "debug_model.toml", "nanogpt_shakespeare_cpu": "shakespeare_cpu.toml",
           "nanogpt_mini_gpt": "mini-gpt.toml", "nanogpt_gpt2": "nanogpt.toml"}
# 0.2's own machinery, which 0.3 has no need of.
HOST_SETTINGS = ("job.description", "job.custom_config_module", "experimental.custom_import", "model.name")
# 0.2's names of the settings that 0.3 keeps elsewhere; the rest keep their names.
SETTINGS_ON_0_3 = {
    "job.dump_folder": "dump_folder", "model.hf_assets_path": "hf_assets_path", "model.flavor": "flavor",
    "debug.randomness": "randomness",
    "training.dataset": "dataloader.dataset", "training.dataset_path": "dataloader.dataset_path",
    "validation.enable": "validator.enable", "validation.freq": "validator.freq",
    "validation.steps": "validator.steps", "validation.dataset": "validator.dataset",
    "validation.local_batch_size": "validator.batch_size", "validation.seq_len": "validator.context",
}
ACTIVATION_CHECKPOINTING = {"none": None, "full": FullAC.Config, "selective": SelectiveAC.Config}
SECTIONS = {
    "training": TrainingConfig, "dataloader": NanoGPTDataLoader.Config, "validator": NanoGPTValidator.Config,
    "optimizer": NanoGPTOptimizers.Config, "lr_scheduler": NanoGPTLRSchedulers.Config,
    "metrics": NanoGPTMetricsProcessor.Config, "compile": CompileConfig, "checkpoint": CheckpointManager.Config,
    "comm": CommConfig, "debug": DebugConfig,
}


def toml_settings(name: str) -> dict[str, object]:
    """A shipped TOML file's settings, `section.key` -> value."""
    with open(TRAIN_CONFIGS / name, "rb") as file:
        sections = tomllib.load(file)
    return {f"{section}.{key}": value for section, values in sections.items() for key, value in values.items()}


def settings_on_0_3(settings: dict[str, object]) -> dict[str, object]:
    """torchtitan 0.2's settings under 0.3's names; those 0.3 cannot express are refused."""
    settings = {name: value for name, value in settings.items() if name not in HOST_SETTINGS}
    if "optimizer.name" in settings:
        settings["optimizer.name"] = str(settings["optimizer.name"]).removeprefix("NanoGPT")
    return {SETTINGS_ON_0_3.get(name, name): value for name, value in settings.items()}


def trainer_config(settings: dict[str, object]) -> NanoGPTTrainer.Config:
    """torchtitan 0.2's settings (`section.key` -> value) as torchtitan 0.3's Config."""
    settings = settings_on_0_3(settings)
    top_level = {name: settings.pop(name) for name in ("dump_folder", "hf_assets_path", "flavor", "randomness")
                 if name in settings}
    ac_mode = settings.pop("activation_checkpoint.mode", "none")
    sections: dict[str, dict[str, object]] = {}
    for name, value in settings.items():
        section, _, key = name.partition(".")
        if section not in SECTIONS or key not in {field.name for field in fields(SECTIONS[section])}:
            raise NanoGPTTitanError(f"setting {name} has no torchtitan 0.3 form here")
        sections.setdefault(section, {})[key] = value
    # 0.3's structured trace logs, which 0.2 has not: off, so that a run writes nothing before its first step.
    sections.setdefault("debug", {}).setdefault("enable_structured_logging", False)
    return NanoGPTTrainer.Config(
        activation_checkpoint=ACTIVATION_CHECKPOINTING[ac_mode] and ACTIVATION_CHECKPOINTING[ac_mode](),
        **top_level,
        **{section: config_type(**sections.get(section, {})) for section, config_type in SECTIONS.items()},
    )


def cli_arguments(settings: dict[str, object]) -> list[str]:
    """torchtitan 0.2's settings as overrides of a 0.3 config on its command line."""
    settings = settings_on_0_3(settings)
    ac_mode = settings.pop("activation_checkpoint.mode", None)
    arguments = []
    for name, value in settings.items():
        if isinstance(value, bool):
            section, _, key = name.rpartition(".")
            arguments.append(f"--{section + '.' if section else ''}{'' if value else 'no-'}{key}")
        else:
            arguments += [f"--{name}", str(value)]
    return arguments + ([f"activation-checkpoint:{ac_mode}"] if ac_mode else [])
