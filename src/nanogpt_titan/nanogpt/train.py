"""`nanogpt-titan train [CONFIG.py ...] [--key=value ...]`: nanoGPT's command line, run by torchtitan.

The arguments are nanoGPT's (`nanogpt_titan.nanogpt.arguments`), the settings their translation
(`nanogpt_titan.nanogpt.translation`) over `train_configs/nanogpt.toml` (on the Configurable
releases its config, `nanogpt_gpt2`), and the run the installed torchtitan's own entry point:
one process, or torchrun's (`nanogpt_titan.launch`). As nanoGPT's `train.py`, `dataset = 'X'`
reads `data/X/` and `out_dir` is the run's folder, both relative to the working directory.

Everything that can be known before the run starts is checked first and refused in one line in
nanoGPT's words: the settings, the data folder, what `out_dir` holds (a run folder holds one
model: `init_from='scratch'` over a run is refused, `--init_from=resume` continues it), and
`init_from` (`nanogpt_titan.nanogpt.init_from`). With `eval_only`, nanoGPT's `estimate_loss` of
the model at its iteration is printed as nanoGPT prints it (`nanogpt_titan.nanogpt.eval_only`),
and nothing is written.
"""

import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

from nanogpt_titan.checkpoint.saved import RUN_CHECKPOINTS, saved_steps
from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts import training_command
from nanogpt_titan.launch import Launch
from nanogpt_titan.nanogpt.arguments import read_config
from nanogpt_titan.nanogpt.eval_only import estimate_loss
from nanogpt_titan.nanogpt.init_from import pretrained
from nanogpt_titan.nanogpt.translation import (
    MODEL_KEYS,
    data_folder,
    device_type,
    job_settings,
    wandb_environment,
)
from nanogpt_titan.process_messages import RESUME_VARIABLE
from nanogpt_titan.run_folder import RunFolder

BASE_RECIPE = "nanogpt.toml"


def run_folder(config: dict, initial_load_path: str | None = None) -> RunFolder:
    """`out_dir` as the run's folder, its checks in nanoGPT's names."""
    checkpoint = SimpleNamespace(
        enable=True,
        folder=RUN_CHECKPOINTS,
        initial_load_path=initial_load_path,
        initial_load_in_hf=False,
        load_step=-1,
        load_only=False,
        exclude_from_loading=[],
    )
    return RunFolder(
        str(Path(config["out_dir"]).absolute()),
        checkpoint,
        None,
        config["max_iters"] + 1,
        str(Path("data", config["dataset"]).absolute()),
        dump_folder_setting="out_dir",
        dataset_path_setting="dataset",
        initial_load_setting="init_from",
    )


def _resume_settings(config: dict, processes: int, data: DataFolder) -> dict[str, object]:
    out_dir = Path(config["out_dir"])
    steps = saved_steps(out_dir / RUN_CHECKPOINTS)
    if not steps:
        hint = (
            f"; it holds nanoGPT's ckpt.pt: nanogpt-titan convert {out_dir / 'ckpt.pt'} DST, then --init_from=DST"
            if (out_dir / "ckpt.pt").is_file()
            else ""
        )
        raise NanoGPTTitanError(f"init_from='resume': {out_dir} holds no torchtitan run to resume{hint}")
    if max(steps) > config["max_iters"]:
        raise NanoGPTTitanError(
            f"init_from='resume': the run in {out_dir} is complete, its last checkpoint at "
            f"iteration {max(steps)} and max_iters={config['max_iters']}: raise --max_iters to "
            "train on"
        )
    folder = run_folder(config)
    folder.check(processes, data.vocabulary)
    ignored = ", ".join(key for key in MODEL_KEYS if key not in ("block_size", "dropout"))
    print(
        f"init_from='resume': the model is the run's in {out_dir} (the config's {ignored} are not used, as in nanoGPT)",
        file=sys.stderr,
    )
    return {"model.flavor": folder.dump_folder}


def _pretrained_settings(config: dict) -> dict[str, object]:
    """The pretrained model, converted into out_dir once (a folder per configuration of it)."""
    from nanogpt_titan.checkpoint import write_dcp

    name = Path(config["init_from"]).name
    folder = Path(config["out_dir"]) / f"init_from-{name}-block{config['block_size']}-dropout{config['dropout']}"
    if not folder.is_dir():
        write_dcp(pretrained(config["init_from"], config["block_size"], config["dropout"])[0], folder)
    ignored = ", ".join(key for key in MODEL_KEYS if key not in ("block_size", "dropout"))
    print(
        f"init_from={config['init_from']!r}: {folder} (the config's {ignored} are not used, as in nanoGPT)",
        file=sys.stderr,
    )
    return {"model.flavor": str(folder.absolute()), "checkpoint.initial_load_path": str(folder.absolute())}


def run_settings(config: dict, processes: int) -> dict[str, object]:
    """torchtitan's settings for `config` on `processes` ranks, every path absolute, once the
    data and `out_dir` are known to serve the run."""
    accumulation = config["gradient_accumulation_steps"]
    if accumulation % processes:
        raise NanoGPTTitanError(
            f"gradient_accumulation_steps={accumulation} is not a multiple of the {processes} processes; nanoGPT "
            "divides it among them: set a multiple, or another number of processes"
        )
    settings = job_settings(config)
    data = data_folder(config)
    out_dir = Path(config["out_dir"])
    if config["init_from"] != "resume" and (out_dir / RUN_CHECKPOINTS).exists():
        raise NanoGPTTitanError(
            f"out_dir={config['out_dir']!r} holds a run ({out_dir / RUN_CHECKPOINTS}): --init_from=resume continues "
            "it, another --out_dir starts over"
        )
    settings |= {"job.dump_folder": str(out_dir.absolute()), "training.dataset_path": str(data.path.absolute())}
    if config["init_from"] == "resume":
        settings |= _resume_settings(config, processes, data)
    elif config["init_from"] != "scratch":
        settings |= _pretrained_settings(config)
    if processes > 1:  # nanoGPT's DDP: each rank its own batches and dropout, nanoGPT's rank's
        settings |= {
            "parallelism.data_parallel_replicate_degree": processes,
            "parallelism.data_parallel_shard_degree": 1,
        }
    return settings


def run_environment(config: dict, processes: int) -> dict[str, str]:
    """What the run's processes need set beside the settings: W&B's names, and the devices."""
    environment = wandb_environment(config) if config["wandb_log"] else {}
    if config["device"] == "cpu":
        environment["CUDA_VISIBLE_DEVICES"] = ""  # torchtitan takes CUDA wherever it finds it
    elif config["device"].startswith("cuda:") and processes == 1:  # torchrun assigns several processes theirs
        environment["CUDA_VISIBLE_DEVICES"] = config["device"].removeprefix("cuda:")
    return environment


def train(arguments: list[str], launch: Launch = Launch(), torchtitan_overrides: list[str] = ()) -> None:
    """Run `train.py ARGUMENTS` as nanoGPT would, through torchtitan's entry point (with
    `torchtitan_overrides` after the translation); with eval_only, print nanoGPT's estimate
    instead."""
    import torch

    config = read_config(arguments)
    if device_type(config) == "cuda" and not torch.cuda.is_available():
        raise NanoGPTTitanError(
            f"device={config['device']!r}: this machine has no CUDA device; pass --device=cpu, as "
            "nanoGPT's README does on a CPU"
        )
    job_settings(config)  # the settings, checked before anything else
    if config["eval_only"]:
        iteration, losses = estimate_loss(config)
        print(f"step {iteration}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        return
    arguments_to_torchtitan = [
        *training_command(BASE_RECIPE, run_settings(config, launch.processes)),
        *torchtitan_overrides,
    ]
    environment = run_environment(config, launch.processes)
    shown = [f"{name}={value}" for name, value in environment.items()]
    print(
        f"the same run, in torchtitan's own form:\n  "
        f"{shlex.join([*shown, *launch.command('torchtitan.train', arguments_to_torchtitan)])}",
        file=sys.stderr,
        flush=True,
    )
    launched = launch.torchrun_arguments() if launch.processes > 1 else []
    again = [
        "nanogpt-titan",
        "train",
        *launched,
        *arguments,
        "--init_from=resume",
        *(["--", *torchtitan_overrides] if torchtitan_overrides else []),
    ]
    launch.run("torchtitan.train", arguments_to_torchtitan, {**environment, RESUME_VARIABLE: shlex.join(again)})
