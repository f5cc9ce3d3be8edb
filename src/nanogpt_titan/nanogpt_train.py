"""`nanogpt-titan train [CONFIG.py ...] [--key=value ...]`: nanoGPT's command line, run by torchtitan.

The arguments are nanoGPT's (`nanogpt_titan.configurator`), the settings its translation
(`nanogpt_titan.nanogpt_config`) over `train_configs/nanogpt.toml` (on torchtitan 0.3 its
config, `nanogpt_gpt2`), and the run the installed torchtitan's own entry point: one process, or torchrun's `--nproc-per-node` (and, across nodes, its usual
flags). As nanoGPT's `train.py`, `dataset = 'X'` reads `data/X/` and `out_dir` is the run's
folder, both relative to the working directory. What nanoGPT does before its loop is done
here:

| init_from                         | the run starts from                                          |
|-----------------------------------|--------------------------------------------------------------|
| 'scratch'                         | nanoGPT's init                                               |
| 'resume'                          | the torchtitan run in out_dir (its latest checkpoint)        |
| 'gpt2', ..., 'gpt2-xl', or a folder | OpenAI's weights from the Hugging Face cache (or a Hugging Face folder), with the configured dropout and block_size (cropped), converted once into out_dir |

and `eval_only` prints nanoGPT's `estimate_loss` of that model on both splits, as nanoGPT
prints it, and exits, writing nothing.
"""

import os
import shlex
import socket
import sys
from contextlib import nullcontext
from pathlib import Path

from nanogpt_titan.configurator import read_config
from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts import recipe_arguments, run_train_sh_variables, training_command
from nanogpt_titan.nanogpt_config import (
    MODEL_KEYS,
    NANOGPT_SEED,
    device_type,
    job_settings,
    model_args,
    wandb_environment,
)

BASE_RECIPE = "nanogpt.toml"
OPENAI_MODELS = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")


def openai_weights(name: str) -> Path:
    """The Hugging Face cache's snapshot of OpenAI's `name`, as `transformers` downloads it."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    for repo in (name, f"openai-community/{name}"):
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except LocalEntryNotFoundError:
            continue
    raise NanoGPTTitanError(
        f"init_from={name!r}: OpenAI's weights are not in the Hugging Face cache ({constants.HF_HUB_CACHE}); "
        f"download them once: huggingface-cli download {name} config.json model.safetensors"
    )


def pretrained(config: dict):
    """The `Checkpoint` of a pretrained init_from, as nanoGPT configures it (dropout, block_size)."""
    from nanogpt_titan.checkpoint import read_checkpoint

    init_from = config["init_from"]
    source = openai_weights(init_from) if init_from in OPENAI_MODELS else Path(init_from)
    if init_from not in OPENAI_MODELS and not source.is_dir():
        raise NanoGPTTitanError(
            f"init_from={init_from!r} is none of 'scratch', 'resume', {', '.join(map(repr, OPENAI_MODELS))}, nor a "
            "Hugging Face folder"
        )
    return read_checkpoint(source).as_configured(config["block_size"], config["dropout"])


def _pretrained_init(config: dict) -> Path:
    """The pretrained model converted into out_dir once (a folder per configuration of it)."""
    from nanogpt_titan.checkpoint import write_dcp

    name = Path(config["init_from"]).name
    folder = Path(config["out_dir"]) / f"init_from-{name}-block{config['block_size']}-dropout{config['dropout']}"
    if not folder.is_dir():
        write_dcp(pretrained(config), folder)
    return folder


def _init_settings(config: dict) -> dict[str, object]:
    """What `init_from` adds to the translation: where the model comes from."""
    init_from, out_dir = config["init_from"], Path(config["out_dir"])
    if init_from == "scratch":
        return {}
    ignored = sorted(key for key in MODEL_KEYS if key not in ("block_size", "dropout"))
    if init_from == "resume":
        if not (out_dir / "checkpoint").is_dir():
            hint = (f"; it holds nanoGPT's ckpt.pt: nanogpt-titan convert {out_dir / 'ckpt.pt'} DST, then "
                    "init_from=DST" if (out_dir / "ckpt.pt").is_file() else "")
            raise NanoGPTTitanError(f"init_from='resume': {out_dir} holds no torchtitan run to resume{hint}")
        print(f"init_from='resume': the model is the run's in {out_dir} ({', '.join(ignored)}, block_size and "
              "dropout of the config are not used, as in nanoGPT)", file=sys.stderr)
        return {"model.flavor": str(out_dir)}
    init = _pretrained_init(config)
    print(f"init_from={init_from!r}: {init} (the config's {', '.join(ignored)} are not used, as in nanoGPT)",
          file=sys.stderr)
    return {"model.flavor": str(init), "checkpoint.initial_load_path": str(init)}


def torchtitan_arguments(config: dict, processes: int) -> list[str]:
    """torchtitan's arguments for `config` on `processes` ranks: the base config and overrides."""
    accumulation = config["gradient_accumulation_steps"]
    if accumulation % processes:
        raise NanoGPTTitanError(
            f"gradient_accumulation_steps={accumulation} is not a multiple of the {processes} processes; nanoGPT "
            "divides it among them: set a multiple, or another number of processes"
        )
    settings = job_settings(config)
    DataFolder(Path(settings["training.dataset_path"]))  # a missing or broken folder is refused before the run
    settings |= _init_settings(config)
    if processes > 1:  # nanoGPT's DDP: each rank its own batches and dropout, nanoGPT's rank's
        settings |= {"parallelism.data_parallel_replicate_degree": processes,
                     "parallelism.data_parallel_shard_degree": 1}
    return training_command(BASE_RECIPE, settings)


def estimate_loss(config: dict) -> dict[str, float]:
    """nanoGPT's `estimate_loss` of the configured model: the mean loss of eval_iters random
    batches of each split, in eval mode."""
    import torch

    from nanogpt_titan.evaluate import mean_loss, random_batches

    device = torch.device(config["device"])
    data = DataFolder(Path("data") / config["dataset"])
    checkpoint = _model_to_evaluate(config, data)
    data.vocabulary.check_model(checkpoint.args.vocab_size, checkpoint.vocabulary, checkpoint.source,
                                "evaluate on the data the model was trained on")
    model = checkpoint.build_model(device)
    dtype = getattr(torch, config["dtype"])
    autocast = torch.autocast("cuda", dtype=dtype) if device.type == "cuda" and dtype != torch.float32 else nullcontext()
    return {split: mean_loss(model, random_batches(data.split(split), config["block_size"], config["batch_size"],
                                                   config["eval_iters"], NANOGPT_SEED, "block_size"), autocast)
            for split in ("train", "val")}


def _model_to_evaluate(config: dict, data):
    from nanogpt_titan.checkpoint import read_checkpoint
    from nanogpt_titan.checkpoint.read import Checkpoint

    if config["init_from"] == "resume":
        return read_checkpoint(config["out_dir"])
    if config["init_from"] != "scratch":
        return pretrained(config)
    import torch

    from nanogpt_titan.model import NanoGPT

    args = model_args(config)
    args.vocab_size = data.vocabulary.model_size
    torch.manual_seed(NANOGPT_SEED)
    model = NanoGPT(args)
    model.init_weights()
    return Checkpoint(args, model.state_dict(), "a model from scratch", vocabulary=data.vocabulary)


def run_environment(config: dict, processes: int) -> dict[str, str]:
    """What the run's processes need set beside the settings: W&B's names, and the devices."""
    environment = wandb_environment(config) if config["wandb_log"] else {}
    if config["device"] == "cpu":
        environment["CUDA_VISIBLE_DEVICES"] = ""  # torchtitan takes CUDA wherever it finds it
    elif config["device"].startswith("cuda:") and processes == 1:  # torchrun assigns several processes theirs
        environment["CUDA_VISIBLE_DEVICES"] = config["device"].removeprefix("cuda:")
    return environment


def _one_process_environment() -> dict[str, str]:
    """The distributed variables torchtitan needs, which torchrun would set."""
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        port = sock.getsockname()[1]
    return {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1", "MASTER_ADDR": "localhost",
            "MASTER_PORT": str(port)}


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def train(arguments: list[str], nproc_per_node: int = 1, nnodes: int = 1, torchrun_options: list[str] = (),
          torchtitan_overrides: list[str] = ()) -> None:
    """Run `train.py ARGUMENTS` as nanoGPT would, through torchtitan's entry point (with
    `torchtitan_overrides` after the translation), which replaces this process; with eval_only,
    print nanoGPT's estimate instead."""
    config = read_config(arguments)
    if device_type(config) == "cuda" and not _cuda_available():
        raise NanoGPTTitanError(f"device={config['device']!r}: this machine has no CUDA device; pass --device=cpu, as "
                                "nanoGPT's README does on a CPU")
    if config["eval_only"]:
        losses = estimate_loss(config)
        print(f"step 0: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        return
    processes = nproc_per_node * nnodes
    arguments = [*torchtitan_arguments(config, processes), *torchtitan_overrides]
    environment = run_environment(config, processes)
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", f"--nproc-per-node={nproc_per_node}",
                                          f"--nnodes={nnodes}", *(torchrun_options or ["--standalone"])]
    shown_environment = [f"{name}={value}" for name, value in environment.items()]
    recipe = [f"{name}={value}" for name, value in run_train_sh_variables(BASE_RECIPE).items()]
    overrides = arguments[len(recipe_arguments(BASE_RECIPE)):]
    same_run = ([*shown_environment, f"NGPU={processes}", *recipe, "./run_train.sh", *overrides]
                if nnodes == 1 else [*shown_environment, "torchrun", *launcher[2:], "-m", "torchtitan.train", *arguments])
    print(f"the same run, in torchtitan's own form:\n  {shlex.join(same_run)}", file=sys.stderr, flush=True)
    if processes == 1:
        environment |= _one_process_environment()
    os.execve(sys.executable, [sys.executable, *launcher, "-m", "torchtitan.train", *arguments],
              {**os.environ, **environment})
