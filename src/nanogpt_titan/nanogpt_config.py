"""nanoGPT's training settings in torchtitan's names: the one translation between the two.

nanoGPT configures `train.py` with Python globals (a config file plus `--key=value` overrides:
`nanogpt_titan.configurator`); torchtitan with TOML sections and `--section.key` overrides, in
torchtitan 0.2's names, which the 0.3 adapter places in 0.3's Config. The shipped TOML files
spell this translation out in their comments; `job_settings` is it in code.

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

from collections.abc import Mapping

from nanogpt_titan.configurator import TRAIN_PY_DEFAULTS
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model.args import NanoGPTModelArgs

# config/train_shakespeare_char.py over train.py's defaults, on a CUDA machine with bfloat16.
SHAKESPEARE_CHAR = {
    **TRAIN_PY_DEFAULTS, "dtype": "bfloat16",
    "out_dir": "out-shakespeare-char", "eval_interval": 250, "eval_iters": 200, "log_interval": 10,
    "always_save_checkpoint": False, "wandb_log": False, "wandb_project": "shakespeare-char",
    "wandb_run_name": "mini-gpt", "dataset": "shakespeare_char", "gradient_accumulation_steps": 1,
    "batch_size": 64, "block_size": 256, "n_layer": 6, "n_head": 6, "n_embd": 384, "dropout": 0.2,
    "learning_rate": 1e-3, "max_iters": 5000, "lr_decay_iters": 5000, "min_lr": 1e-4, "beta2": 0.99,
    "warmup_iters": 100,
}
MODEL_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias")
NANOGPT_SEED = 1337  # train.py's torch.manual_seed(1337 + seed_offset), rank 0
DEVICE_TYPES = ("cuda", "cpu")


def model_args(config: Mapping) -> NanoGPTModelArgs:
    """The model of a nanoGPT config; its vocabulary comes from the run's data."""
    return NanoGPTModelArgs(**{key: config[key] for key in MODEL_KEYS})


def flavor_spec(args: Mapping) -> str:
    """A `--model.flavor` that names the model by its args: `n_layer=6,n_head=6,...`."""
    return ",".join(f"{key}={args[key]!r}" for key in MODEL_KEYS)


def device_type(config: Mapping) -> str:
    """"cuda" or "cpu", from train.py's `device` ('cuda', 'cuda:N', 'cpu')."""
    device = config["device"].partition(":")[0]
    if device not in DEVICE_TYPES:
        raise NanoGPTTitanError(f"nanoGPT setting device={config['device']!r} is not supported: torchtitan trains on "
                                "'cuda' ('cuda:N') or 'cpu'")
    return device


def job_settings(config: Mapping) -> dict[str, object]:
    """torchtitan settings (`section.key` -> value) that train as nanoGPT's `train.py` with
    `config` would, from scratch (`init_from` and `eval_only` are the command's). `config`
    holds every key of train.py's (a partial one is taken over train.py's defaults); the model
    is among the settings, as a flavor spec."""
    config = {**TRAIN_PY_DEFAULTS, **config}
    unknown = config.keys() - TRAIN_PY_DEFAULTS.keys()
    if unknown:
        raise NanoGPTTitanError(f"nanoGPT config keys {sorted(unknown)} have no torchtitan translation")
    _refuse_unsupported(config)
    on_cuda = device_type(config) == "cuda"
    decays = config["decay_lr"]
    return {
        "job.dump_folder": config["out_dir"],
        "model.flavor": flavor_spec(config),
        "training.dataset": "nanogpt_train",
        "training.dataset_path": f"data/{config['dataset']}",
        "training.local_batch_size": config["batch_size"],
        "training.global_batch_size": config["batch_size"] * config["gradient_accumulation_steps"],
        "training.seq_len": config["block_size"],
        "training.steps": config["max_iters"] + 1,
        "training.max_norm": config["grad_clip"] or float("inf"),
        "training.mixed_precision_param": config["dtype"] if on_cuda else "float32",
        "optimizer.name": "NanoGPTAdamW",
        "optimizer.lr": config["learning_rate"],
        "optimizer.beta1": config["beta1"],
        "optimizer.beta2": config["beta2"],
        "optimizer.weight_decay": config["weight_decay"],
        "optimizer.eps": 1e-8,
        # nanoGPT's CPU AdamW is torch's for-loop kernel; foreach computes the same bits (the
        # golden trajectories end on identical weights with either) in less time.
        "optimizer.implementation": "fused" if on_cuda else "foreach",
        "lr_scheduler.warmup_steps": config["warmup_iters"] if decays else 0,
        "lr_scheduler.total_steps": config["lr_decay_iters"],
        "lr_scheduler.decay_type": "cosine",
        "lr_scheduler.min_lr_factor": config["min_lr"] / config["learning_rate"] if decays else 1.0,
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
        "debug.seed": NANOGPT_SEED,
    }


def wandb_environment(config: Mapping) -> dict[str, str]:
    """The W&B run's project and name, which torchtitan reads from the environment."""
    return {"WANDB_PROJECT": config["wandb_project"], "WANDB_RUN_NAME": config["wandb_run_name"]}


def _refuse_unsupported(config: dict) -> None:
    device = device_type(config)
    refused = {
        "dtype": (device == "cuda" and config["dtype"] == "float16",
                  "torchtitan has no float16 loss scaling (nanoGPT's GradScaler): use 'bfloat16'"),
    }
    for key, (is_refused, reason) in refused.items():
        if is_refused:
            raise NanoGPTTitanError(f"nanoGPT setting {key}={config[key]!r} is not supported: {reason}")


def cli_overrides(settings: Mapping[str, object]) -> list[str]:
    """`settings` as torchtitan command-line overrides (booleans as its flags)."""
    overrides = []
    for name, value in settings.items():
        if isinstance(value, bool):
            section, key = name.rsplit(".", 1)
            overrides.append(f"--{section}.{key}" if value else f"--{section}.no-{key}")
        else:
            overrides += [f"--{name}", str(value)]
    return overrides
