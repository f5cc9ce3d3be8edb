"""nanoGPT's training settings in torchtitan's names: the one translation between the two.

nanoGPT configures `train.py` with Python globals (`config/train_shakespeare_char.py` plus
`--key=value` overrides); torchtitan with TOML sections and `--section.key` overrides. The
shipped TOML files spell this translation out in their comments; `job_settings` is it in code.

| nanoGPT                      | torchtitan                                                  |
|------------------------------|-------------------------------------------------------------|
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
| log_interval                 | metrics.log_freq                                            |
| dtype (on CUDA), compile     | training.mixed_precision_param, compile.enable              |
| device                       | optimizer.implementation: fused on CUDA, else foreach       |
| n_layer, n_head, n_embd, dropout, bias | the model args (a flavor)                         |
"""

from collections.abc import Mapping

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model.args import NanoGPTModelArgs

# config/train_shakespeare_char.py over train.py's defaults (the keys that shape training).
SHAKESPEARE_CHAR = {
    "dataset": "shakespeare_char", "init_from": "scratch", "eval_only": False,
    "batch_size": 64, "block_size": 256, "gradient_accumulation_steps": 1,
    "n_layer": 6, "n_head": 6, "n_embd": 384, "dropout": 0.2, "bias": False,
    "learning_rate": 1e-3, "max_iters": 5000, "weight_decay": 1e-1, "beta1": 0.9, "beta2": 0.99,
    "grad_clip": 1.0, "decay_lr": True, "warmup_iters": 100, "lr_decay_iters": 5000, "min_lr": 1e-4,
    "eval_interval": 250, "eval_iters": 200, "log_interval": 10,
    "device": "cuda", "dtype": "bfloat16", "compile": True,
}
# Keys of train.py that change nothing about the numbers torchtitan computes.
IGNORED_KEYS = frozenset({
    "out_dir", "always_save_checkpoint", "wandb_log", "wandb_project", "wandb_run_name", "backend",
})
MODEL_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias")
NANOGPT_SEED = 1337  # train.py's torch.manual_seed(1337 + seed_offset), rank 0


def model_args(config: Mapping) -> NanoGPTModelArgs:
    """The model of a nanoGPT config; its vocabulary comes from the run's text."""
    return NanoGPTModelArgs(**{key: config[key] for key in MODEL_KEYS})


def job_settings(config: Mapping) -> dict[str, object]:
    """torchtitan settings (`section.key` -> value) that train as nanoGPT's `train.py` with
    `config` would. The model is not among them: give `model_args(config)` as the flavor."""
    config = {**SHAKESPEARE_CHAR, **config}
    unknown = config.keys() - SHAKESPEARE_CHAR.keys() - IGNORED_KEYS
    if unknown:
        raise NanoGPTTitanError(f"nanoGPT config keys {sorted(unknown)} have no torchtitan translation")
    _refuse_unsupported(config)
    on_cuda = config["device"].startswith("cuda")
    decays = config["decay_lr"]
    return {
        "training.dataset": "shakespeare_char_train",
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
        "validation.dataset": "shakespeare_char_validation",
        "validation.freq": config["eval_interval"],
        "validation.steps": config["eval_iters"],
        "validation.local_batch_size": config["batch_size"],
        "validation.seq_len": config["block_size"],
        "metrics.log_freq": config["log_interval"],
        "compile.enable": config["compile"],
        "debug.seed": NANOGPT_SEED,
    }


def _refuse_unsupported(config: dict) -> None:
    refused = {
        "dataset": (config["dataset"] != "shakespeare_char", "only 'shakespeare_char' is built in"),
        "init_from": (config["init_from"] != "scratch",
                      "start from scratch, or convert the checkpoint (`nanogpt-titan convert`) and "
                      "pass it as --checkpoint.initial_load_path"),
        "eval_only": (config["eval_only"], "use `nanogpt-titan evaluate` instead"),
        "dtype": (config["device"].startswith("cuda") and config["dtype"] == "float16",
                  "torchtitan has no float16 loss scaling: use 'bfloat16'"),
    }
    for key, (is_refused, fix) in refused.items():
        if is_refused:
            raise NanoGPTTitanError(f"nanoGPT setting {key}={config[key]!r} is not supported: {fix}")


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
