"""The recipes on torchtitan's Configurable releases, from the settings torchtitan 0.2 reads: the
shipped TOML files (`train_configs/`) and nanoGPT's `train.py` translated
(`nanogpt_titan.nanogpt.translation`). One table renames the settings that these releases keep
elsewhere, and the release counts the batch its way (`batch_counts`: windows on 0.3.0, tokens on
main); each setting is then placed in the release's Config (`trainer_config`) or on its command
line (`cli_arguments`). One recipe, every host; a setting these releases cannot express is
refused by name."""

from dataclasses import fields, replace

import tomllib

from nanogpt_titan.data.datasets import BatchSettings
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.flags import flags
from nanogpt_titan.hosts import TRAIN_CONFIGS

# The config functions of `nanogpt_titan.config_registry`, and the TOML recipe each one is.
RECIPES = {
    "nanogpt_debugmodel": "debug_model.toml",
    "nanogpt_shakespeare_cpu": "shakespeare_cpu.toml",
    "nanogpt_mini_gpt": "mini-gpt.toml",
    "nanogpt_gpt2": "nanogpt.toml",
}
# 0.2's own machinery, which these releases have no need of.
HOST_SETTINGS = ("job.description", "job.custom_config_module", "experimental.custom_import", "model.name")
# 0.2's names of the settings that these releases keep elsewhere; the rest keep their names.
RENAMED = {
    "job.dump_folder": "dump_folder",
    "model.hf_assets_path": "hf_assets_path",
    "model.flavor": "flavor",
    "debug.randomness": "randomness",
    "training.dataset": "dataloader.dataset",
    "training.dataset_path": "dataloader.dataset_path",
    "validation.enable": "validator.enable",
    "validation.freq": "validator.freq",
    "validation.steps": "validator.steps",
    "validation.dataset": "validator.dataset",
    "validation.local_batch_size": "validator.batch_size",
    "validation.seq_len": "validator.context",
}
# 0.2's batch settings, with its defaults: each release counts the batch in its own settings.
BATCH = {"training.local_batch_size": 8, "training.seq_len": 2048, "training.global_batch_size": -1}
TOP_LEVEL = ("dump_folder", "hf_assets_path", "flavor", "randomness")
SECTIONS = (
    "training",
    "dataloader",
    "validator",
    "optimizer",
    "lr_scheduler",
    "metrics",
    "compile",
    "checkpoint",
    "comm",
    "debug",
    "parallelism",
)


def toml_settings(name: str) -> dict[str, object]:
    """A shipped TOML file's settings, `section.key` -> value."""
    with open(TRAIN_CONFIGS / name, "rb") as file:
        sections = tomllib.load(file)
    return {f"{section}.{key}": value for section, values in sections.items() for key, value in values.items()}


def release_settings(
    settings: dict[str, object], batch_counts: type, recipe: dict[str, object] | None = None
) -> dict[str, object]:
    """torchtitan 0.2's settings under the names of a Configurable release, which counts a batch
    by `batch_counts`; a batch setting among them is counted with the others of `recipe`'s (the
    settings they override)."""
    settings = {name: value for name, value in settings.items() if name not in HOST_SETTINGS}
    if "optimizer.name" in settings:
        settings["optimizer.name"] = str(settings["optimizer.name"]).removeprefix("NanoGPT")
    if BATCH.keys() & settings.keys():
        given = {**(recipe or {}), **settings}
        batches = BatchSettings(*(given.get(name, default) for name, default in BATCH.items()))
        settings = {name: value for name, value in settings.items() if name not in BATCH}
        settings |= {f"training.{key}": value for key, value in batch_counts.training_settings(batches).items()}
    return {RENAMED.get(name, name): value for name, value in settings.items()}


def trainer_config(settings: dict[str, object], trainer: type):
    """torchtitan 0.2's settings (`section.key` -> value) as the Config of `trainer` (a release's
    `NanoGPTTrainer`)."""
    from torchtitan.distributed.activation_checkpoint import FullAC, SelectiveAC

    settings = release_settings(settings, trainer.Config.batch_counts)
    top_level = {name: settings.pop(name) for name in TOP_LEVEL if name in settings}
    ac_mode = settings.pop("activation_checkpoint.mode", "none")
    defaults = {field.name: field.default_factory() for field in fields(trainer.Config) if field.name in SECTIONS}
    sections: dict[str, dict[str, object]] = {}
    for name, value in settings.items():
        section, _, key = name.partition(".")
        if section not in defaults or key not in {field.name for field in fields(defaults[section])}:
            raise NanoGPTTitanError(f"setting {name} has no form on this torchtitan")
        sections.setdefault(section, {})[key] = value
    # Structured trace logs, which 0.2 has not: off, so that a run writes nothing before its first step.
    sections.setdefault("debug", {}).setdefault("enable_structured_logging", False)
    checkpointing = {"none": None, "full": FullAC.Config, "selective": SelectiveAC.Config}[ac_mode]
    return trainer.Config(
        activation_checkpoint=checkpointing and checkpointing(),
        **top_level,
        **{section: replace(default, **sections.get(section, {})) for section, default in defaults.items()},
    )


def cli_arguments(
    settings: dict[str, object], batch_counts: type, recipe: dict[str, object] | None = None
) -> list[str]:
    """torchtitan 0.2's settings as overrides of `recipe` (a config of a release that counts a
    batch by `batch_counts`) on its command line."""
    settings = release_settings(settings, batch_counts, recipe)
    ac_mode = settings.pop("activation_checkpoint.mode", None)
    return flags(settings) + ([f"activation-checkpoint:{ac_mode}"] if ac_mode else [])
