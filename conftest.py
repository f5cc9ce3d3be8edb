"""Shared fixtures. Nothing here touches CUDA or the network.

Tests read the real tiny Shakespeare from `../shared/data` beside the checkout (or wherever
NANOGPT_TITAN_DATA already points), never from the working directory or the internet.
"""

import gc
import math
import os
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parent
SHARED_SHAKESPEARE = REPO_ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
TRAIN_CONFIGS = REPO_ROOT / "src" / "nanogpt_titan" / "train_configs"

settings.register_profile(
    "ci", max_examples=25, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

if "NANOGPT_TITAN_DATA" not in os.environ and SHARED_SHAKESPEARE.is_file():
    os.environ["NANOGPT_TITAN_DATA"] = str(SHARED_SHAKESPEARE)


@pytest.fixture(scope="session")
def shakespeare_text() -> str:
    from nanogpt_titan.datasets import load_text

    return load_text()


@pytest.fixture(scope="session")
def char_tokenizer(shakespeare_text):
    from nanogpt_titan.tokenizer import NanoGPTCharTokenizer

    return NanoGPTCharTokenizer(shakespeare_text)


@pytest.fixture(scope="session")
def nanogpt_get_lr():
    """nanoGPT's `get_lr`, transcribed from the reference document: the schedule's oracle."""

    def get_lr(it, learning_rate, warmup_iters, lr_decay_iters, min_lr):
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        if it > lr_decay_iters:
            return min_lr
        ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (learning_rate - min_lr)

    return get_lr


@pytest.fixture
def build_model():
    """Build a NanoGPT the way torchtitan's Trainer does: meta device, to_empty, init_weights."""
    import torch

    from nanogpt_titan.model import NanoGPT

    def build(args):
        with torch.device("meta"):
            model = NanoGPT(args)
        model.to_empty(device="cpu")
        with torch.no_grad():
            model.init_weights()
        return model

    return build


@pytest.fixture(scope="session")
def random_model():
    """A NanoGPT with GPT-2's init, norms and biases perturbed so that mapping mistakes show."""
    import torch

    from nanogpt_titan.model import NanoGPT

    def make(args, seed: int = 0):
        torch.manual_seed(seed)
        model = NanoGPT(args)
        model.init_weights()
        with torch.no_grad():
            for param in model.parameters():
                if param.dim() == 1:
                    param.add_(0.1 * torch.randn_like(param))
        return model.eval()

    return make


TINY_CHAR_MODEL = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32, "vocab_size": 65}


@pytest.fixture(params=[False, True], ids=["no-bias", "bias"])
def nanogpt_ckpt(request, tmp_path, random_model):
    """A tiny char model saved as nanoGPT's train.py saves a compiled one: (ckpt.pt path, model)."""
    import torch

    from nanogpt_titan.checkpoint import to_nanogpt
    from nanogpt_titan.model import NanoGPTModelArgs

    args = NanoGPTModelArgs(**TINY_CHAR_MODEL, bias=request.param)
    model = random_model(args)
    path = tmp_path / "nanogpt" / "ckpt.pt"
    path.parent.mkdir()
    torch.save({
        "model": {"_orig_mod." + name: t for name, t in to_nanogpt(model.state_dict()).items()},
        "model_args": args.gpt_config(),
        "iter_num": 250,
        "best_val_loss": torch.tensor(2.5),
        "config": {"dataset": "shakespeare_char", "learning_rate": 1e-3},
    }, path)
    return path, model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def parse_config():
    """Parse a shipped train config plus CLI overrides into a torchtitan JobConfig."""
    from torchtitan.config import ConfigManager

    def parse(config_name: str, *overrides: str):
        args = ["--job.config_file", str(TRAIN_CONFIGS / config_name), *overrides]
        return ConfigManager().parse_args(args)

    return parse


@pytest.fixture
def make_trainer(tmp_path, monkeypatch, parse_config):
    """Build torchtitan's own Trainer in this process from a shipped config plus overrides."""
    import torch.distributed as dist
    from torchtitan.train import Trainer

    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1",
                        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(name, value)
    trainers = []

    def make(config_name: str, *overrides: str, dump_folder: Path = tmp_path / "run"):
        if dist.is_initialized():  # one Trainer at a time: close the previous one first
            close(trainers.pop())
        trainers.append(Trainer(parse_config(config_name, "--job.dump_folder", str(dump_folder), *overrides)))
        return trainers[-1]

    def close(trainer):
        trainer.close()
        if dist.is_initialized():
            dist.destroy_process_group()
        gc.enable()  # the Trainer disables automatic GC for the process

    yield make
    for trainer in trainers:
        close(trainer)


@pytest.fixture
def run_trainer(make_trainer, tmp_path):
    """Train with torchtitan's own Trainer; returns the run's metrics.jsonl records."""

    def run(config_name: str, *overrides: str, dump_folder: Path = tmp_path / "run") -> list[dict]:
        from nanogpt_titan.metrics import METRICS_FILE, read_metrics_file

        make_trainer(config_name, *overrides, dump_folder=dump_folder).train()
        return read_metrics_file(Path(dump_folder) / METRICS_FILE)

    return run
