"""nanoGPT's configuration, read as its `train.py`, `sample.py` and `configurator.py` read it.

`python train.py [config/file.py ...] [--key=value ...]` (or `sample.py`), left to right over the
script's defaults: a config file runs as Python with the settings as its globals (so it may import,
compute, refer to earlier values); `--key=value` parses the value with `ast.literal_eval`,
falling back to the string itself, and must keep the type the setting has. A key `train.py`
lacks is refused by name, with the nearest setting it has, in a file as on the command line
(nanoGPT ignores one set in a file, which hides typos); so is a value of the wrong type, or a
file that raises.
"""

import ast
import difflib
import traceback
from pathlib import Path

from nanogpt_titan.errors import NanoGPTTitanError

# train.py's settings and defaults (GPT-2 124M on OpenWebText, 8 GPUs), in its order.
TRAIN_PY_DEFAULTS = {
    "out_dir": "out",
    "eval_interval": 2000,
    "log_interval": 1,
    "eval_iters": 200,
    "eval_only": False,
    "always_save_checkpoint": True,
    "init_from": "scratch",
    "wandb_log": False,
    "wandb_project": "owt",
    "wandb_run_name": "gpt2",
    "dataset": "openwebtext",
    "gradient_accumulation_steps": 5 * 8,
    "batch_size": 12,
    "block_size": 1024,
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "dropout": 0.0,
    "bias": False,
    "learning_rate": 6e-4,
    "max_iters": 600000,
    "weight_decay": 1e-1,
    "beta1": 0.9,
    "beta2": 0.95,
    "grad_clip": 1.0,
    "decay_lr": True,
    "warmup_iters": 2000,
    "lr_decay_iters": 600000,
    "min_lr": 6e-5,
    "backend": "nccl",
    "device": "cuda",
    "dtype": None,
    "compile": True,
}
# sample.py's settings and defaults, in its order (`dtype` as train.py's).
SAMPLE_PY_DEFAULTS = {
    "init_from": "resume",
    "out_dir": "out",
    "start": "\n",
    "num_samples": 10,
    "max_new_tokens": 500,
    "temperature": 0.8,
    "top_k": 200,
    "seed": 1337,
    "device": "cuda",
    "dtype": None,
    "compile": False,
}


# What train.py counts as a setting (its `config_keys`): a name not starting with "_" whose
# value is one of these.
SETTING_TYPES = (int, float, bool, str)


def with_dtype(defaults: dict) -> dict:
    """`defaults` with `dtype` as nanoGPT's scripts pick it on this machine: bfloat16 where CUDA
    supports it, else float16."""
    import torch

    bfloat16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return {**defaults, "dtype": "bfloat16" if bfloat16 else "float16"}


def train_py_defaults() -> dict:
    return with_dtype(TRAIN_PY_DEFAULTS)


def read_config(arguments: list[str], defaults: dict | None = None, script: str = "train.py") -> dict:
    """The settings `SCRIPT ARGUMENTS` would run with, over its `defaults` (train.py's by default)."""
    config = dict(train_py_defaults() if defaults is None else defaults)
    for argument in arguments:
        if argument.startswith("--"):
            _override(config, argument, script)
        else:
            _run_config_file(config, Path(argument), script)
    return config


def _unknown(key: str, config: dict, script: str) -> str:
    nearest = difflib.get_close_matches(key, config, n=1)
    hint = f"did you mean {nearest[0]!r}?" if nearest else f"its settings are {sorted(config)}"
    return f"{script} has no setting {key!r}; {hint}"


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _override(config: dict, argument: str, script: str) -> None:
    key, equals, text = argument.removeprefix("--").partition("=")
    if not equals:
        raise NanoGPTTitanError(f"{argument}: nanoGPT's overrides read --key=value, e.g. --{key}=...")
    if key not in config:
        raise NanoGPTTitanError(f"{argument}: {_unknown(key, config, script)}")
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if type(value) is not type(config[key]):
        raise NanoGPTTitanError(
            f"{argument}: {key} is {_a(type(config[key]).__name__)} ({config[key]!r}), and {text!r} reads as "
            f"{_a(type(value).__name__)}; nanoGPT keeps each setting's type (e.g. 1.0, not 1, for a float)"
        )
    config[key] = value


def _run_config_file(config: dict, path: Path, script: str) -> None:
    if not path.is_file():
        raise NanoGPTTitanError(
            f"config file {path} does not exist (a bare argument is a config file; settings are --key=value)"
        )
    namespace = dict(config)
    try:
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    except Exception as error:  # the user's Python: whatever it raises is theirs to fix, in one line
        line = next(
            (
                frame.lineno
                for frame in reversed(traceback.extract_tb(error.__traceback__))
                if frame.filename == str(path)
            ),
            None,
        )
        where = f" at line {line}" if line else ""
        raise NanoGPTTitanError(f"config file {path} raised {type(error).__name__}{where}: {error}") from None
    for name, value in namespace.items():
        if name.startswith("_") or not isinstance(value, SETTING_TYPES):
            continue  # the file's imports and helpers: not settings to train.py either
        if name not in config:
            raise NanoGPTTitanError(f"config file {path} sets {name!r}: {_unknown(name, config, script)}")
        config[name] = value
