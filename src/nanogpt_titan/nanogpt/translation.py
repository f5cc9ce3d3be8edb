"""nanoGPT's training settings in torchtitan's names: the one translation between the two.

nanoGPT configures `train.py` with Python globals (a config file plus `--key=value` overrides:
`nanogpt_titan.nanogpt.arguments`); torchtitan with TOML sections and `--section.key` overrides, in
torchtitan 0.2's names, which the other hosts' adapters place in their Configs. `job_settings`
is the translation; a setting that would not train as nanoGPT's `train.py` trains (or that
`train.py` itself cannot run) is refused by its nanoGPT name, with the reason.

| nanoGPT                      | torchtitan                                                  |
|------------------------------|-------------------------------------------------------------|
| out_dir                      | job.dump_folder                                             |
| dataset                      | training.dataset = nanogpt_train, training.dataset_path = data/<dataset> |
| batch_size                   | training.local_batch_size, validation.local_batch_size      |
| gradient_accumulation_steps  | training.global_batch_size = batch_size * accumulation      |
| block_size                   | training.seq_len, validation.seq_len (and the model's)      |
| max_iters                    | training.steps = max_iters + 1 (iterations 0..max_iters)    |
| learning_rate, beta1, beta2, weight_decay | optimizer.lr, .beta1, .beta2, .weight_decay    |
| warmup_iters, lr_decay_iters | lr_scheduler.warmup_steps, lr_scheduler.total_steps         |
| min_lr                       | lr_scheduler.min_lr_factor = min_lr / learning_rate         |
| decay_lr = False             | no warmup, min_lr_factor = 1: a constant rate               |
| grad_clip                    | training.max_norm (0 disables clipping: an infinite norm)   |
| eval_interval, eval_iters    | validation.freq, validation.steps                           |
| always_save_checkpoint       | checkpoint.interval = eval_interval                         |
| log_interval                 | metrics.log_freq                                            |
| wandb_log                    | metrics.enable_wandb (wandb_project, wandb_run_name: `wandb_environment`) |
| dtype (on CUDA), compile     | training.mixed_precision_param, compile.enable              |
| device                       | optimizer.implementation: fused on CUDA, else foreach       |
| backend                      | none: torchtitan takes the device's (nccl on CUDA, gloo on a CPU) |
| n_layer, n_head, n_embd, block_size, dropout, bias | model.flavor (`flavor_spec`)   |
| init_from, eval_only         | the command's (`nanogpt-titan train`), not a setting        |
"""

import math
from collections.abc import Mapping
from pathlib import Path

from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model.args import NanoGPTModelArgs
from nanogpt_titan.nanogpt.arguments import TRAIN_PY_DEFAULTS
from nanogpt_titan.randomness import DEFAULT_SEED

MODEL_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias")
DEVICE_TYPES = ("cuda", "cpu")
DTYPES = ("float32", "bfloat16", "float16")
# Settings train.py needs at least 1 of: its loop divides by some, and runs no batch without the others.
POSITIVE = (
    "batch_size",
    "block_size",
    "n_layer",
    "n_head",
    "n_embd",
    "gradient_accumulation_steps",
    "eval_interval",
    "log_interval",
    "eval_iters",
)


def model_args(config: Mapping) -> NanoGPTModelArgs:
    """The model of a nanoGPT config; its vocabulary comes from the run's data."""
    return NanoGPTModelArgs(**{key: config[key] for key in MODEL_KEYS})


def flavor_spec(args: Mapping) -> str:
    """A `--model.flavor` that names the model by its args: `n_layer=6,n_head=6,...`."""
    return ",".join(f"{key}={args[key]!r}" for key in MODEL_KEYS)


def device_type(config: Mapping) -> str:
    """ "cuda" or "cpu", from train.py's `device` ('cuda', 'cuda:N', 'cpu')."""
    device = config["device"].partition(":")[0]
    if device not in DEVICE_TYPES:
        raise NanoGPTTitanError(
            f"nanoGPT setting device={config['device']!r} is not supported: torchtitan trains on "
            "'cuda' ('cuda:N') or 'cpu'"
        )
    return device


def check(config: Mapping) -> None:
    """Refuse, before anything starts, a config `train.py` cannot run or torchtitan cannot train
    as `train.py` would: each in one line, by its nanoGPT name."""
    unknown = config.keys() - TRAIN_PY_DEFAULTS.keys()
    if unknown:
        raise NanoGPTTitanError(f"nanoGPT config keys {sorted(unknown)} have no torchtitan translation")
    for key in POSITIVE:
        if config[key] < 1:
            raise NanoGPTTitanError(f"nanoGPT setting {key}={config[key]!r} must be at least 1")
    on_cuda = device_type(config) == "cuda"
    decays = config["decay_lr"]
    refusals = [  # (setting, refused, why)
        ("dtype", config["dtype"] not in DTYPES, f"train.py knows {', '.join(map(repr, DTYPES))}"),
        (
            "dtype",
            on_cuda and config["dtype"] == "float16",
            "torchtitan has no float16 loss scaling (nanoGPT's GradScaler): use 'bfloat16'",
        ),
        ("max_iters", config["max_iters"] < 0, "train.py runs iterations 0..max_iters: set max_iters >= 0"),
        ("grad_clip", config["grad_clip"] < 0, "a norm to clip to is >= 0 (0 disables clipping)"),
        (
            "lr_decay_iters",
            decays and config["lr_decay_iters"] == config["warmup_iters"] <= config["max_iters"],
            f"it equals warmup_iters, and train.py's get_lr divides zero by zero at iteration {config['warmup_iters']}; "
            "set them apart",
        ),
        (
            "min_lr",
            decays and config["learning_rate"] == 0 and config["min_lr"] != 0,
            "torchtitan's schedule scales learning_rate, which is 0: set min_lr=0.0 too, or a learning_rate",
        ),
    ]
    for key, refused, reason in refusals:
        if refused:
            raise NanoGPTTitanError(f"nanoGPT setting {key}={config[key]!r} is not supported: {reason}")
    _check_adamw(config)
    model_args(config)  # the model's own checks (n_embd divisible by n_head, dropout in [0, 1))


def _check_adamw(config: Mapping) -> None:
    """torch's AdamW refuses what it cannot step with (a negative rate, betas outside [0, 1), ...)."""
    import torch

    try:
        torch.optim.AdamW(
            [torch.zeros(1, requires_grad=True)],
            lr=config["learning_rate"],
            betas=(config["beta1"], config["beta2"]),
            weight_decay=config["weight_decay"],
        )
    except ValueError as error:
        raise NanoGPTTitanError(
            f"nanoGPT's AdamW settings (learning_rate, beta1, beta2, weight_decay) are refused by torch: {error}"
        ) from None


def job_settings(config: Mapping) -> dict[str, object]:
    """torchtitan settings (`section.key` -> value) that train as nanoGPT's `train.py` with
    `config` would, from scratch (`init_from` and `eval_only` are the command's). `config`
    holds every key of train.py's (a partial one is taken over train.py's defaults); the model
    is among the settings, as a flavor spec."""
    config = {**TRAIN_PY_DEFAULTS, **config}
    check(config)
    on_cuda = device_type(config) == "cuda"
    decays, learning_rate = config["decay_lr"], config["learning_rate"]
    return {
        "job.dump_folder": config["out_dir"],
        "model.flavor": flavor_spec(config),
        "training.dataset": "nanogpt_train",
        "training.dataset_path": f"data/{config['dataset']}",
        "training.local_batch_size": config["batch_size"],
        "training.global_batch_size": config["batch_size"] * config["gradient_accumulation_steps"],
        "training.seq_len": config["block_size"],
        "training.steps": config["max_iters"] + 1,
        "training.max_norm": config["grad_clip"] or math.inf,
        "training.mixed_precision_param": config["dtype"] if on_cuda else "float32",
        "optimizer.name": "NanoGPTAdamW",
        "optimizer.lr": learning_rate,
        "optimizer.beta1": config["beta1"],
        "optimizer.beta2": config["beta2"],
        "optimizer.weight_decay": config["weight_decay"],
        "optimizer.eps": 1e-8,
        # nanoGPT's CPU AdamW is torch's for-loop kernel; foreach computes the same bits (the
        # golden trajectories end on identical weights with either) in less time.
        "optimizer.implementation": "fused" if on_cuda else "foreach",
        # decay_lr = False: a constant rate, whatever the horizon.
        "lr_scheduler.warmup_steps": config["warmup_iters"] if decays else 0,
        "lr_scheduler.total_steps": config["lr_decay_iters"] if decays else 1,
        "lr_scheduler.decay_type": "cosine",
        "lr_scheduler.min_lr_factor": config["min_lr"] / learning_rate if decays and learning_rate else 1.0,
        "validation.enable": True,
        "validation.dataset": "nanogpt_validation",
        "validation.freq": config["eval_interval"],
        "validation.steps": config["eval_iters"],
        "validation.local_batch_size": config["batch_size"],
        "validation.seq_len": config["block_size"],
        "checkpoint.enable": True,
        "checkpoint.interval": config["eval_interval"],
        "metrics.log_freq": config["log_interval"],
        "metrics.enable_wandb": config["wandb_log"],
        "compile.enable": config["compile"],
        "debug.seed": DEFAULT_SEED,
    }


def wandb_environment(config: Mapping) -> dict[str, str]:
    """The W&B run's project and name, which torchtitan reads from the environment."""
    return {"WANDB_PROJECT": config["wandb_project"], "WANDB_RUN_NAME": config["wandb_run_name"]}


def data_folder(config: dict) -> DataFolder:
    """`data/<dataset>`, each split long enough for a window of `block_size`, or refused by the
    setting that names it."""
    folder = Path("data") / config["dataset"]
    try:
        data = DataFolder(folder)
        for split in ("train", "val"):
            tokens = data.split(split)
            if len(tokens) <= config["block_size"]:
                raise NanoGPTTitanError(
                    f"{tokens.path} holds {len(tokens):,} tokens, no window of "
                    f"block_size={config['block_size']} and its target; lower --block_size"
                )
    except NanoGPTTitanError as error:
        raise NanoGPTTitanError(f"dataset={config['dataset']!r}: {error}") from None
    return data
