"""The recipes on torchtitan 0.3, from the settings torchtitan 0.2 reads: the shipped TOML files
(`train_configs/`) and nanoGPT's `train.py` translated (`nanogpt_titan.nanogpt_config`), each
setting placed in 0.3's Config. One recipe, two hosts; a setting 0.3 cannot express is refused
by name."""

import tomllib
from dataclasses import fields
from pathlib import Path

from torchtitan.components.checkpoint import CheckpointManager
from torchtitan.config import CommConfig, CompileConfig, DebugConfig, TrainingConfig
from torchtitan.distributed.activation_checkpoint import FullAC, SelectiveAC
from torchtitan.protocols.model_spec import ModelSpec

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_3.data import NanoGPTDataLoader
from nanogpt_titan.hosts.v0_3.metrics import NanoGPTMetricsProcessor
from nanogpt_titan.hosts.v0_3.model import NanoGPTModel
from nanogpt_titan.hosts.v0_3.optimizer import NanoGPTLRSchedulers, NanoGPTOptimizers
from nanogpt_titan.hosts.v0_3.parallelize import parallelize_nanogpt
from nanogpt_titan.hosts.v0_3.trainer import NanoGPTTrainer
from nanogpt_titan.hosts.v0_3.validate import NanoGPTValidator
from nanogpt_titan.model.flavors import FLAVORS, RENAMED, NanoGPTFlavors

TRAIN_CONFIGS = Path(__file__).parents[2] / "train_configs"
# 0.2's own machinery, which 0.3 has no need of.
HOST_SETTINGS = ("job.description", "job.custom_config_module", "experimental.custom_import", "model.name")
ACTIVATION_CHECKPOINTING = {"none": None, "full": FullAC.Config, "selective": SelectiveAC.Config}
# Sections whose settings keep their names on 0.3, and the Config that holds them there.
SAME_NAMES = {
    "training": TrainingConfig, "optimizer": NanoGPTOptimizers.Config, "lr_scheduler": NanoGPTLRSchedulers.Config,
    "metrics": NanoGPTMetricsProcessor.Config, "compile": CompileConfig, "checkpoint": CheckpointManager.Config,
    "comm": CommConfig, "debug": DebugConfig,
}


def toml_settings(name: str) -> dict[str, object]:
    """A shipped TOML file's settings, `section.key` -> value."""
    with open(TRAIN_CONFIGS / name, "rb") as file:
        sections = tomllib.load(file)
    return {f"{section}.{key}": value for section, values in sections.items() for key, value in values.items()}


def model_spec(flavor: str) -> ModelSpec:
    """The nanogpt model of `flavor`: a registered name, a checkpoint's folder, or the args."""
    args = NanoGPTFlavors(FLAVORS, renamed=RENAMED)[flavor]
    return ModelSpec(name="nanogpt", flavor=flavor, model=NanoGPTModel.Config(args=args, flavor=flavor),
                     parallelize_fn=parallelize_nanogpt, pipelining_fn=None, post_optimizer_build_fn=None,
                     state_dict_adapter=None)


def trainer_config(settings: dict[str, object]) -> NanoGPTTrainer.Config:
    """torchtitan 0.2's settings (`section.key` -> value) as torchtitan 0.3's Config."""
    settings = {name: value for name, value in settings.items() if name not in HOST_SETTINGS}
    sections: dict[str, dict[str, object]] = {}
    for name, value in settings.items():
        section, key = name.split(".", 1)
        sections.setdefault(section, {})[key] = value
    job, model, validation = (sections.pop(section, {}) for section in ("job", "model", "validation"))
    training, debug, optimizer = (sections.setdefault(section, {}) for section in ("training", "debug", "optimizer"))
    refused = {
        "debug.randomness": (debug.pop("randomness", "rank_invariant") != "rank_invariant",
                             "nanoGPT's own draws are torchtitan 0.2's for now"),
        "validation.local_batch_size": (validation.pop("local_batch_size", training.get("local_batch_size"))
                                        != training.get("local_batch_size"), "0.3 validates with training's"),
        "validation.seq_len": (validation.pop("seq_len", training.get("seq_len")) != training.get("seq_len"),
                               "0.3 validates with training's"),
    }
    for name, (is_refused, reason) in refused.items():
        if is_refused:
            raise NanoGPTTitanError(f"setting {name} has no torchtitan 0.3 form: {reason}")
    optimizer["name"] = optimizer.get("name", "NanoGPTAdamW").removeprefix("NanoGPT")
    data = {key: training.pop(key) for key in ("dataset", "dataset_path") if key in training}
    ac_mode = sections.pop("activation_checkpoint", {}).pop("mode", "none")
    components = {section: _config(config_type, section, sections.pop(section, {}))
                  for section, config_type in SAME_NAMES.items()}
    config = NanoGPTTrainer.Config(
        model_spec=model_spec(model.pop("flavor")),
        hf_assets_path=model.pop("hf_assets_path", "."),
        dump_folder=job.pop("dump_folder", "./outputs"),
        dataloader=NanoGPTDataLoader.Config(**data),
        validator=NanoGPTValidator.Config(**validation),
        activation_checkpoint=ACTIVATION_CHECKPOINTING[ac_mode] and ACTIVATION_CHECKPOINTING[ac_mode](),
        **components,
    )
    left = [f"{section}.{key}" for section, values in {"job": job, "model": model, **sections}.items() for key in values]
    if left:
        raise NanoGPTTitanError(f"settings {left} have no torchtitan 0.3 form here")
    return config


def _config(config_type: type, section: str, values: dict[str, object]):
    known = {field.name for field in fields(config_type)}
    unknown = [f"{section}.{key}" for key in values if key not in known]
    if unknown:
        raise NanoGPTTitanError(f"settings {unknown} have no torchtitan 0.3 form")
    return config_type(**values)
