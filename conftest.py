"""Shared fixtures. Nothing here touches CUDA or the network.

Tests read the real tiny Shakespeare from `../shared/data` beside the checkout (or wherever
NANOGPT_TITAN_DATA already points), never from the working directory or the internet.
"""

import fcntl
import gc
import math
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

REPO_ROOT = Path(__file__).resolve().parent
# ../shared beside the checkout; searched upwards so that copies of the tree (mutmut's
# `mutants/`) find it too.
SHARED_SHAKESPEARE = next(
    (
        found
        for parent in REPO_ROOT.parents
        if (found := parent / "shared" / "data" / "tinyshakespeare" / "input.txt").is_file()
    ),
    None,
)
TRAIN_CONFIGS = REPO_ROOT / "src" / "nanogpt_titan" / "train_configs"
BENCH_DIR = REPO_ROOT / "tests" / "bench"
HOSTS_DIR = REPO_ROOT / "tests" / "hosts"  # tests of every host, and of each adapter in a folder of its own


BENCHMARK_RUN_OPTIONS = ("benchmark_autosave", "benchmark_save", "benchmark_compare", "benchmark_only")

settings.register_profile(
    "ci",
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=500, deadline=None)
# For the mutant catalogue: the ci examples, but a failure is reported as found, not shrunk.
settings.register_profile("ci-no-shrink", parent=settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])
# For mutmut: few examples and no shrinking, since a killed mutant needs one failure, not the smallest.
settings.register_profile(
    "mutation",
    max_examples=10,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# mutmut tests its mutated copy of the package (mutants/src, put first on sys.path), but the
# triton guard's .pth imported the installed package at interpreter start: forget that import,
# so that the tests import the package beside this file. (A no-op wherever they are the same.)
_imported = sys.modules.get("nanogpt_titan")
if _imported is not None and Path(_imported.__file__).resolve().parent != REPO_ROOT / "src" / "nanogpt_titan":
    for _name in [name for name in sys.modules if name.split(".")[0] == "nanogpt_titan"]:
        del sys.modules[_name]

if "NANOGPT_TITAN_DATA" not in os.environ and SHARED_SHAKESPEARE is not None:
    os.environ["NANOGPT_TITAN_DATA"] = str(SHARED_SHAKESPEARE)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--processes-at",
        choices=("start", "end"),
        help="run the tests marked `processes` first or last (CI gives its side-by-side suites different ends)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `hosts("v0_2", ...)` covers what only those hosts have: on another it is
    deselected (and reported so), never run as a pass. `--processes-at` moves the tests marked
    `processes`, in their order."""
    from nanogpt_titan.hosts import installed_host

    host = installed_host()
    elsewhere = [item for item in items if (marker := item.get_closest_marker("hosts")) and host not in marker.args]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item not in elsewhere]
    if at := config.getoption("processes_at"):
        several = [item for item in items if item.get_closest_marker("processes")]
        others = [item for item in items if not item.get_closest_marker("processes")]
        items[:] = several + others if at == "start" else others + several


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """A test marked `processes` (several training processes, with collectives between them)
    holds the lock file NANOGPT_TITAN_PROCESSES_LOCK names, where one is named: suites run side
    by side (CI's) then start such jobs one at a time instead of crowding the cores with them,
    taking turns."""
    lock = os.environ.get("NANOGPT_TITAN_PROCESSES_LOCK")
    if lock is None or item.get_closest_marker("processes") is None:
        return (yield)
    try:
        with open(lock, "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            return (yield)
    finally:
        time.sleep(1)  # a suite waiting for the lock takes it before this one takes it again


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the runs the tests start and interrupt, as from a terminal: a suite that a
    script starts in the background (CI's side by side) inherits SIGINT ignored from its shell,
    and would hand that on to every process it starts.

    Under NANOGPT_TITAN_MUTANT=<name>, this process runs against that named mutant of the
    library (tests/hosts/v0_2/test_mutants.py), applied before any test module is imported."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    name = os.environ.get("NANOGPT_TITAN_MUTANT")
    if not name:
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location("mutant_catalogue", HOSTS_DIR / "v0_2" / "test_mutants.py")
    catalogue = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(catalogue)
    if name not in catalogue.MUTANTS:
        raise pytest.UsageError(f"NANOGPT_TITAN_MUTANT={name!r} is not one of {sorted(catalogue.MUTANTS)}")
    catalogue.MUTANTS[name](pytest.MonkeyPatch())  # never undone: the process belongs to the mutant


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The tests of the installed host's adapters only. Benchmarks run when asked for: by path, or
    by a pytest-benchmark option that saves, compares or selects them; a plain
    `pytest -m "not gpu"` stays a test run."""
    if collection_path.parent == HOSTS_DIR and collection_path.is_dir():
        from nanogpt_titan.hosts import ADAPTERS, installed_host

        adapters = {adapter for each in ADAPTERS.values() for adapter in each}
        return (collection_path.name in adapters and collection_path.name not in ADAPTERS[installed_host()]) or None
    if collection_path != BENCH_DIR:
        return None
    named = any(Path(arg.split("::")[0]).resolve().is_relative_to(BENCH_DIR) for arg in config.args)
    asked = any(config.getoption(option, default=None) for option in BENCHMARK_RUN_OPTIONS)
    return None if named or asked else True


@pytest.fixture(scope="session", autouse=True)
def prepared_data_cache(tmp_path_factory):
    """Texts are prepared into a cache of the session's (inherited by the processes tests start),
    never into the user's: `$NANOGPT_TITAN_CACHE`."""
    from nanogpt_titan.data.text import CACHE_ENV_VAR

    previous = os.environ.get(CACHE_ENV_VAR)
    os.environ[CACHE_ENV_VAR] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        del os.environ[CACHE_ENV_VAR]
    else:
        os.environ[CACHE_ENV_VAR] = previous


@pytest.fixture(scope="session")
def shakespeare_text() -> str:
    from nanogpt_titan.data.text import resolve_text_path

    return resolve_text_path().read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def shakespeare():
    """Tiny Shakespeare's character data folder (prepared once into the session's cache)."""
    from nanogpt_titan.data.text import data_folder

    return data_folder()


@pytest.fixture(scope="session")
def token_file(tmp_path_factory):
    """`token_file(ids, id_limit=2**16)`: a split holding `ids` (uint16), in a file of its own."""
    import itertools

    import numpy as np

    from nanogpt_titan.data.folder import TokenFile

    folder, numbers = tmp_path_factory.mktemp("splits"), itertools.count()

    def make(ids, id_limit: int = 2**16) -> TokenFile:
        path = folder / f"{next(numbers)}.bin"
        np.asarray(ids, dtype=np.uint16).tofile(path)
        return TokenFile(path, id_limit)

    return make


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


@pytest.fixture(scope="session")
def train_py_lr(nanogpt_get_lr):
    """nanoGPT's train.py learning rate at iteration `it` of `config`: get_lr, else constant."""

    def lr(config: dict, it: int) -> float:
        if not config["decay_lr"]:
            return config["learning_rate"]
        return nanogpt_get_lr(
            it, *(config[key] for key in ("learning_rate", "warmup_iters", "lr_decay_iters", "min_lr"))
        )

    return lr


@pytest.fixture
def build_model():
    """Build a NanoGPT the way torchtitan's Trainer does: meta device, to_empty, init_weights."""
    import torch

    from nanogpt_titan.model import NanoGPT

    def build(args, initialise=None):
        with torch.device("meta"):
            model = NanoGPT(args, initialise)
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


@pytest.fixture(scope="session")
def hf_oracle():
    """nanoGPT's network, independently: Hugging Face's GPT2LMHeadModel set to its semantics
    (exact GELU, LayerNorm eps 1e-5, tied head, eager attention, zero biases when bias=False),
    holding a NanoGPT's weights through the package's one mapping."""
    import torch

    transformers = pytest.importorskip("transformers")

    from nanogpt_titan.checkpoint import to_hf_gpt2

    def oracle_of(model):
        args = model.model_args
        config = transformers.GPT2Config(
            vocab_size=args.vocab_size,
            n_positions=args.block_size,
            n_embd=args.n_embd,
            n_layer=args.n_layer,
            n_head=args.n_head,
            activation_function="gelu",
            layer_norm_epsilon=1e-5,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            tie_word_embeddings=True,
            bos_token_id=None,
            eos_token_id=None,
        )
        config._attn_implementation = "eager"  # HF's own attention math, not SDPA as ours
        oracle = transformers.GPT2LMHeadModel(config).eval()
        weights = to_hf_gpt2({k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
        expected = oracle.state_dict()
        for name, tensor in expected.items():  # bias=False: nanoGPT's missing biases are zeros
            weights.setdefault(name, torch.zeros_like(tensor))
        assert weights.keys() == expected.keys()
        oracle.load_state_dict(weights)
        return oracle

    return oracle_of


@pytest.fixture(scope="session")
def tiny_args():
    """The smallest model with every part: one block, two heads, biases; block 8, vocabulary 11."""
    from nanogpt_titan.model import NanoGPTModelArgs

    return NanoGPTModelArgs(n_layer=1, n_head=2, n_embd=8, block_size=8, vocab_size=11)


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
    torch.save(
        {
            "model": {"_orig_mod." + name: t for name, t in to_nanogpt(model.state_dict()).items()},
            "model_args": args.gpt_config(),
            "iter_num": 250,
            "best_val_loss": torch.tensor(2.5),
            "config": {"dataset": "shakespeare_char", "learning_rate": 1e-3},
        },
        path,
    )
    return path, model


@pytest.fixture
def nanogpt_hub_folder(tmp_path, random_model):
    """A folder like sosier/nanoGPT-shakespeare-char-tied-weights: nanoGPT's GPTConfig in
    config.json (model_type "nanoGPT", remote code), nanoGPT's names in pytorch_model.bin (both
    tied names) and in model.safetensors (the tied matrix once, under `stored_head`). Returns
    (folder, model)."""
    import json

    import torch
    from safetensors.torch import save_file

    from nanogpt_titan.checkpoint import to_nanogpt
    from nanogpt_titan.model import NanoGPTModelArgs

    def make(stored_head: str = "lm_head.weight", safetensors: bool = True, bias: bool = False):
        model = random_model(NanoGPTModelArgs(**TINY_CHAR_MODEL, bias=bias))
        folder = tmp_path / "hub" / stored_head
        folder.mkdir(parents=True)
        config = {
            "architectures": ["nanoGPT"],
            "model_type": "nanoGPT",
            "auto_map": {
                "AutoConfig": "configuration_nanogpt.NanoGPTConfig",
                "AutoModelForCausalLM": "modeling_nanogpt.NanoGPT",
            },
            **model.model_args.gpt_config(),
        }
        (folder / "config.json").write_text(json.dumps(config))
        weights = {name: tensor.clone() for name, tensor in to_nanogpt(model.state_dict()).items()}
        torch.save(weights, folder / "pytorch_model.bin")
        if safetensors:
            dropped = {"lm_head.weight": "transformer.wte.weight", "transformer.wte.weight": "lm_head.weight"}
            save_file({k: v for k, v in weights.items() if k != dropped[stored_head]}, folder / "model.safetensors")
        return folder, model

    return make


# --- a nanoGPT checkout, stood in for --------------------------------------------------------------
# nanoGPT's seven configs, written from the settings its reference lists for each.
OPENAI_MODELS = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
SHAKESPEARE_CHAR = {
    "out_dir": "out-shakespeare-char",
    "eval_interval": 250,
    "eval_iters": 200,
    "log_interval": 10,
    "always_save_checkpoint": False,
    "wandb_log": False,
    "wandb_project": "shakespeare-char",
    "wandb_run_name": "mini-gpt",
    "dataset": "shakespeare_char",
    "gradient_accumulation_steps": 1,
    "batch_size": 64,
    "block_size": 256,
    "n_layer": 6,
    "n_head": 6,
    "n_embd": 384,
    "dropout": 0.2,
    "learning_rate": 1e-3,
    "max_iters": 5000,
    "lr_decay_iters": 5000,
    "min_lr": 1e-4,
    "beta2": 0.99,
    "warmup_iters": 100,
}
CONFIGS = {
    "train_shakespeare_char.py": """
out_dir = 'out-shakespeare-char'
eval_interval = 250
eval_iters = 200
log_interval = 10
always_save_checkpoint = False
wandb_log = False
wandb_project = 'shakespeare-char'
wandb_run_name = 'mini-gpt'
dataset = 'shakespeare_char'
gradient_accumulation_steps = 1
batch_size = 64
block_size = 256
n_layer = 6
n_head = 6
n_embd = 384
dropout = 0.2
learning_rate = 1e-3
max_iters = 5000
lr_decay_iters = 5000
min_lr = 1e-4
beta2 = 0.99
warmup_iters = 100
""",
    "train_gpt2.py": """
wandb_log = True
wandb_project = 'owt'
wandb_run_name = 'gpt2-124M'
batch_size = 12
block_size = 1024
gradient_accumulation_steps = 5 * 8
max_iters = 600000
lr_decay_iters = 600000
eval_interval = 1000
eval_iters = 200
log_interval = 10
weight_decay = 1e-1
""",
    "finetune_shakespeare.py": """
import time
out_dir = 'out-shakespeare'
eval_interval = 5
eval_iters = 40
wandb_log = False
wandb_project = 'shakespeare'
wandb_run_name = 'ft-' + str(time.time())
dataset = 'shakespeare'
init_from = 'gpt2-xl'
always_save_checkpoint = False
batch_size = 1
gradient_accumulation_steps = 32
max_iters = 20
learning_rate = 3e-5
decay_lr = False
""",
    **{
        f"eval_{name.replace('-', '_')}.py": f"""
batch_size = 8
eval_iters = 500
eval_only = True
wandb_log = False
init_from = '{name}'
"""
        for name in OPENAI_MODELS
    },
}
TRAINING_CONFIGS = ["train_shakespeare_char.py", "train_gpt2.py", "finetune_shakespeare.py"]
OPENAI_STAND_IN = {"n_embd": 32, "n_layer": 2, "n_head": 2}  # every OpenAI model's stand-in


@pytest.fixture(scope="session")
def openai_cache(tmp_path_factory):
    """A Hugging Face cache holding small random GPT-2s under OpenAI's names, as transformers saves
    them (exact GELU, so that nanoGPT's network computes what transformers does)."""
    import torch

    transformers = pytest.importorskip("transformers")

    cache = tmp_path_factory.mktemp("hub")
    for name in OPENAI_MODELS:
        repo = cache / f"models--{name}"
        snapshot = repo / "snapshots" / "0123456789abcdef"
        config = transformers.GPT2Config(
            vocab_size=50257, n_positions=1024, activation_function="gelu", **OPENAI_STAND_IN
        )
        torch.manual_seed(len(name))
        transformers.GPT2LMHeadModel(config).save_pretrained(snapshot)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("0123456789abcdef")
    return cache


@pytest.fixture
def nanogpt_dir(tmp_path, monkeypatch, shakespeare, openai_cache):
    """A working directory as nanoGPT's: config/ with the seven configs, data/ with
    shakespeare_char (tiny Shakespeare's characters) and BPE stand-ins of shakespeare and
    openwebtext (random ids); OpenAI's weights in the Hugging Face cache."""
    import huggingface_hub.constants
    import numpy as np

    (tmp_path / "config").mkdir()
    for name, text in CONFIGS.items():
        (tmp_path / "config" / name).write_text(text)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "shakespeare_char").symlink_to(shakespeare.path)
    rng = np.random.default_rng(0)
    for name in ("shakespeare", "openwebtext"):
        (tmp_path / "data" / name).mkdir()
        for split, tokens in (("train.bin", 30_000), ("val.bin", 3_000)):
            rng.integers(0, 50257, tokens, dtype=np.uint16).tofile(tmp_path / "data" / name / split)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(openai_cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(openai_cache))  # for the processes tests start
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def shakespeare_char() -> dict:
    """config/train_shakespeare_char.py over train.py's defaults, on a CUDA machine with bfloat16."""
    from nanogpt_titan.nanogpt.arguments import TRAIN_PY_DEFAULTS

    return {**TRAIN_PY_DEFAULTS, "dtype": "bfloat16", **SHAKESPEARE_CHAR}


@pytest.fixture(scope="session")
def cpu_recipe_arguments() -> list[str]:
    """nanoGPT README's CPU run: `python train.py` and these, in a nanoGPT checkout."""
    return [
        "config/train_shakespeare_char.py",
        "--device=cpu",
        "--compile=False",
        "--eval_iters=20",
        "--log_interval=1",
        "--block_size=64",
        "--batch_size=12",
        "--n_layer=4",
        "--n_head=4",
        "--n_embd=128",
        "--max_iters=2000",
        "--lr_decay_iters=2000",
        "--dropout=0.0",
    ]


@pytest.fixture(scope="session")
def cpu_recipe(shakespeare_char) -> dict:
    """nanoGPT README's CPU run of the shakespeare-char config."""
    return {
        **shakespeare_char,
        "device": "cpu",
        "compile": False,
        "eval_iters": 20,
        "block_size": 64,
        "batch_size": 12,
        "n_layer": 4,
        "n_head": 4,
        "n_embd": 128,
        "max_iters": 2000,
        "lr_decay_iters": 2000,
        "dropout": 0.0,
    }


FIXTURES = REPO_ROOT / "tests" / "fixtures" / "nanogpt"


# nanoGPT's train.py output, as `nanogpt-titan compare` reads it.
NANOGPT_LOG = """\
tokens per iteration will be: 512
step 0: train loss 4.2000, val loss 4.2100
iter 0: loss 4.2200, time 300.12ms, mfu -100.00%
iter 1: loss 4.0000, time 10.50ms, mfu -100.00%
iter 2: loss 3.8000, time 10.40ms, mfu 0.01%
saving checkpoint to out
step 3: train loss 3.5000, val loss 3.6000
iter 3: loss 3.6000, time 10.30ms, mfu 0.01%
"""


@pytest.fixture
def nanogpt_log(tmp_path):
    """A log of nanoGPT's train.py: three iterations and an evaluation at iteration 3."""
    path = tmp_path / "nanogpt.log"
    path.write_text(NANOGPT_LOG)
    return path


@pytest.fixture(scope="session")
def cli():
    """`nanogpt-titan ARGS...` in this process; returns its exit status."""
    from nanogpt_titan.cli import main

    return lambda *argv: main([str(arg) for arg in argv])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def nanogpt_fixtures() -> Path:
    """Outputs of nanoGPT's own code (tests/fixtures/nanogpt/README.md)."""
    return FIXTURES


@pytest.fixture
def make_trainer(tmp_path, monkeypatch):
    """`make_trainer(recipe, settings)`: the installed torchtitan's own Trainer, built in this
    process from a shipped recipe with `settings` (torchtitan 0.2's names) over it, as its entry
    point builds it (`nanogpt_titan.hosts.build_trainer`), in a job of one process.

    One Trainer at a time: making another closes the previous one, as does `make_trainer.close()`
    (torchtitan's entry point closes its Trainer when training ends; metrics.jsonl is complete then).
    """
    import torch.distributed as dist

    from nanogpt_titan.hosts import build_trainer
    from nanogpt_titan.launch import one_process_environment

    for name, value in one_process_environment().items():
        monkeypatch.setenv(name, value)
    trainers = []

    def close():
        trainers.pop().close()
        if dist.is_initialized():
            dist.destroy_process_group()
        gc.enable()  # the Trainer disables automatic GC for the process

    def make(recipe: str, settings: dict | None = None, dump_folder: Path = tmp_path / "run"):
        if trainers:
            close()
        try:
            trainers.append(build_trainer(recipe, {**(settings or {}), "job.dump_folder": str(dump_folder)}))
        except BaseException:  # refused while being built: the process group is up already
            if dist.is_initialized():
                dist.destroy_process_group()
            raise
        return trainers[-1]

    make.close = close
    yield make
    if trainers:
        close()


@pytest.fixture
def run_trainer(make_trainer, tmp_path):
    """Train with torchtitan's own Trainer, then close it; returns the run's metrics.jsonl records."""

    def run(recipe: str, settings: dict | None = None, dump_folder: Path = tmp_path / "run") -> list[dict]:
        from nanogpt_titan.metrics.records import METRICS_FILE, read_metrics_file

        make_trainer(recipe, settings, dump_folder=dump_folder).train()
        make_trainer.close()
        return read_metrics_file(Path(dump_folder) / METRICS_FILE)

    return run


@pytest.fixture(scope="session")
def run_train_sh():
    """`[NGPU=n] CONFIG_FILE=<shipped recipe> ./run_train.sh OVERRIDES...` from a user's shell (on
    torchtitan's Configurable releases `CONFIG=<its config function>`), the overrides the
    installed host's form of `settings`; returns the finished process (output captured as text).

    A user's shell has none of the NCCL variables torchtitan sets in this process for its
    Trainers, and each of several processes gets one OpenMP thread (two cores here)."""
    import subprocess

    from nanogpt_titan.hosts import override_arguments, run_train_sh_variables

    def run(
        settings: dict | None = None, ngpu: int = 1, recipe: str = "debug_model.toml", environment: dict | None = None
    ) -> subprocess.CompletedProcess:
        env = {name: value for name, value in os.environ.items() if not name.startswith(("TORCH_NCCL_", "TORCH_FR_"))}
        threads = {"OMP_NUM_THREADS": "1"} if ngpu > 1 else {}
        return subprocess.run(
            [str(REPO_ROOT / "run_train.sh"), *override_arguments(settings or {}, recipe)],
            env={**env, **threads, "NGPU": str(ngpu), **run_train_sh_variables(recipe), **(environment or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run
