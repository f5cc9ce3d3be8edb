"""Tiny Shakespeare, character level: the text source, nanoGPT's 90/10 split, random windows.

The text is looked up in this order: an explicit path (`--training.dataset_path`), the
`NANOGPT_TITAN_DATA` environment variable, the user cache, and only then a download that is
checked (sha256) and written atomically into the cache.
"""

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import requests
import torch
from torch.utils.data import IterableDataset
from torchtitan.components.dataloader import ParallelAwareDataloader
from torchtitan.config import JobConfig
from torchtitan.tools.logging import logger

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.run_folder import check_run_folder

SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
DATA_ENV_VAR = "NANOGPT_TITAN_DATA"
DOWNLOAD_TIMEOUT_S = 30

# Dataset name -> nanoGPT split. Both names read the same file.
SPLITS = {"shakespeare_char_train": "train", "shakespeare_char_validation": "val"}
TRAIN_FRACTION = 0.9
DEFAULT_SEED = 1337  # nanoGPT's torch.manual_seed


def cache_path() -> Path:
    cache_root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_root) / "nanogpt_titan" / "tinyshakespeare" / "input.txt"


def _download(url: str, destination: Path, setting: str) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    logger.info(f"Downloading tiny Shakespeare from {url} to {destination}")
    offline_hint = f"Offline? Point {DATA_ENV_VAR}=/path/to/input.txt or pass {setting} /path/to/input.txt at a local copy."
    try:
        response = requests.get(url, timeout=DOWNLOAD_TIMEOUT_S)
        response.raise_for_status()
    except requests.RequestException as error:
        raise NanoGPTTitanError(f"could not download {url} ({type(error).__name__}). {offline_hint}") from None
    digest = hashlib.sha256(response.content).hexdigest()
    if digest != SHAKESPEARE_SHA256:
        raise NanoGPTTitanError(
            f"Downloaded {url} has sha256 {digest}, expected {SHAKESPEARE_SHA256}; "
            f"nothing was written. {offline_hint}"
        )
    # Write beside the destination, then rename: an interrupted run leaves no partial file.
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as partial:
        partial.write(response.content)
    os.replace(partial.name, destination)


def resolve_text_path(explicit_path: str | None = None, setting: str = "--training.dataset_path") -> Path:
    """Where the text is: explicit path (given by `setting`, for messages), then $NANOGPT_TITAN_DATA,
    then the cache (downloading)."""
    for source, candidate in (
        (setting, explicit_path),
        (DATA_ENV_VAR, os.environ.get(DATA_ENV_VAR)),
    ):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise NanoGPTTitanError(f"{source} points at {path}, which is not a file")
            return path
    cached = cache_path()
    if not cached.is_file():
        _download(SHAKESPEARE_URL, cached, setting)
    return cached


@functools.lru_cache(maxsize=4)
def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise NanoGPTTitanError(
            f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); train on a UTF-8 text file"
        ) from None
    if not text:
        raise NanoGPTTitanError(f"{path} is empty; train on a text with something in it")
    return text


def load_text(explicit_path: str | None = None, setting: str = "--training.dataset_path") -> str:
    """The whole text, read once per process however many components ask for it."""
    return _read_text(resolve_text_path(explicit_path, setting).resolve())


def run_seed(job_config: JobConfig) -> int:
    """The run's seed: `debug.seed`, else nanoGPT's 1337."""
    return DEFAULT_SEED if job_config.debug.seed is None else job_config.debug.seed


def split_tokens(tokens: torch.Tensor, split: str) -> torch.Tensor:
    """nanoGPT's split: the first `int(0.9 * n)` tokens train, the rest validate."""
    boundary = int(len(tokens) * TRAIN_FRACTION)
    if split == "train":
        return tokens[:boundary]
    if split == "val":
        return tokens[boundary:]
    raise NanoGPTTitanError(f"split must be 'train' or 'val', got {split!r}")


def dataset_split(dataset_name: str) -> str:
    if dataset_name not in SPLITS:
        raise NanoGPTTitanError(
            f"Unknown dataset {dataset_name!r} for the nanogpt model; "
            f"use one of {sorted(SPLITS)} (e.g. --training.dataset shakespeare_char_train)."
        )
    return SPLITS[dataset_name]


@functools.lru_cache(maxsize=2)
def _encoded_text(explicit_path: str | None, tokenizer) -> torch.Tensor:
    # One encoding per run: the dataloader and both validation splits share it (read-only).
    return torch.tensor(tokenizer.encode(load_text(explicit_path)), dtype=torch.long)


def encoded_split(tokenizer, split: str, text_path: str | None = None) -> torch.Tensor:
    """One split ('train' or 'val') of the text at `text_path` (or found as `resolve_text_path` does)."""
    return split_tokens(_encoded_text(text_path, tokenizer), split)


def load_split_tokens(job_config: JobConfig, tokenizer, dataset_name: str) -> torch.Tensor:
    return encoded_split(tokenizer, dataset_split(dataset_name), job_config.training.dataset_path)


def derived_seed(seed: int, purpose: str, index: int) -> int:
    """A seed for the `index`-th stream of `purpose` in the run seeded with `seed`: 32 bits of a
    hash, as torch's CPU generator keeps only the low 32 bits of a seed (`seed + k * 2**32` would
    repeat the run seed's stream)."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{purpose}/{index}".encode()).digest()[:4], "little")


def window_stream_seed(seed: int, stream: int) -> int:
    """Window stream 0 is the run seed's own, as nanoGPT draws; the others are derived from it."""
    return seed if stream == 0 else derived_seed(seed, "windows", stream)


class RandomBlockTokenDataset(IterableDataset):
    """Endless batches of random contiguous windows, drawn the way nanoGPT's `get_batch` does.

    Each batch draws `batch_size` starts uniformly from `[0, len(tokens) - seq_len)`;
    `x = tokens[i : i + seq_len]` and `y = tokens[i + 1 : i + 1 + seq_len]`. The starts come
    from numbered streams, each its own generator seeded by `window_stream_seed(seed, stream)`, taken
    in turn: with `streams=range(A)` batch `k` is stream `k % A`'s next. `state_dict()` /
    `load_state_dict()` resume the exact windows a checkpointed run would have drawn next.

    torchtitan checkpoints no RNG, and the dataloader is the one source of randomness it does
    checkpoint (per data-parallel rank), so the state also carries the global generators that
    dropout draws from: a resumed run then drops the same units as the uninterrupted one. A
    `dropout_seed` reseeds them when iteration starts, unless a state was loaded.
    """

    def __init__(self, tokens: torch.Tensor, seq_len: int, batch_size: int, seed: int,
                 streams: range = range(1), dropout_seed: int | None = None, setting: str = "training.seq_len"):
        if len(tokens) <= seq_len:
            raise NanoGPTTitanError(
                f"a split of {len(tokens)} tokens holds no window of {setting}={seq_len} plus its "
                f"shifted target; lower {setting} or use a longer text"
            )
        self.tokens = tokens
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.window_offsets = torch.arange(seq_len + 1)
        self.generators = [torch.Generator().manual_seed(window_stream_seed(seed, stream)) for stream in streams]
        self.next_stream = 0
        self.dropout_seed = dropout_seed

    def __iter__(self):
        if self.dropout_seed is not None:
            torch.manual_seed(self.dropout_seed)
            self.dropout_seed = None
        while True:
            generator = self.generators[self.next_stream]
            self.next_stream = (self.next_stream + 1) % len(self.generators)
            starts = torch.randint(len(self.tokens) - self.seq_len, (self.batch_size,), generator=generator)
            windows = self.tokens[starts[:, None] + self.window_offsets]
            yield {"input": windows[:, :-1]}, windows[:, 1:]

    def state_dict(self) -> dict:
        state = {
            "generator_states": [generator.get_state() for generator in self.generators],
            "next_stream": self.next_stream,
            "torch_rng_state": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda_rng_state"] = torch.cuda.get_rng_state()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        # A checkpoint of nanogpt_titan 0.1 holds the state of its one stream.
        generator_states = state_dict.get("generator_states") or [state_dict["generator_state"]]
        if len(generator_states) != len(self.generators):
            raise NanoGPTTitanError(
                f"the checkpoint holds {len(generator_states)} window streams per rank and this run draws from "
                f"{len(self.generators)}: resume with the saved training.global_batch_size and "
                "training.local_batch_size, or start a new run from its weights (--checkpoint.initial_load_path)"
            )
        for generator, generator_state in zip(self.generators, generator_states):
            generator.set_state(generator_state)
        self.next_stream = state_dict.get("next_stream", 0)
        torch.set_rng_state(state_dict["torch_rng_state"])
        if "cuda_rng_state" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state(state_dict["cuda_rng_state"])
        self.dropout_seed = None


def accumulation_steps(job_config: JobConfig, dp_world_size: int) -> int:
    """Micro-batches per rank and step, as torchtitan's Trainer computes them."""
    training = job_config.training
    per_micro_batch = training.local_batch_size * dp_world_size
    global_batch_size = per_micro_batch if training.global_batch_size < 0 else training.global_batch_size
    if global_batch_size == 0:
        raise NanoGPTTitanError(
            "training.global_batch_size=0: set a multiple of training.local_batch_size times the data-parallel "
            "ranks, or -1 for one micro-batch per rank"
        )
    if global_batch_size % per_micro_batch:
        same_run = global_batch_size // dp_world_size
        hint = (f"; --training.local_batch_size {same_run} keeps this global batch"
                if global_batch_size % dp_world_size == 0 else "")
        raise NanoGPTTitanError(
            f"training.global_batch_size={global_batch_size} is not a multiple of training.local_batch_size="
            f"{training.local_batch_size} times the {dp_world_size} data-parallel ranks{hint}"
        )
    return global_batch_size // per_micro_batch


def build_shakespeare_char_dataloader(
    dp_world_size: int,
    dp_rank: int,
    tokenizer,
    job_config: JobConfig,
    **kwargs,
) -> ParallelAwareDataloader:
    """The TrainSpec's dataloader builder: random windows, laid out so that any number of
    data-parallel ranks trains on what one process accumulating all micro-batches would.

    Each micro-batch of a step has its own stream: with A micro-batches per rank, rank r draws
    micro-batch a from stream r * A + a, which is micro-batch r * A + a of one process that
    accumulates all N * A. Rank 0 drops out units from where the model's initialisation left
    the global generator, as one process does; rank r > 0 from a stream of its own.
    """
    check_run_folder(job_config, dp_world_size)
    training = job_config.training
    seed = run_seed(job_config)
    micro_batches = accumulation_steps(job_config, dp_world_size)
    dataset = RandomBlockTokenDataset(
        load_split_tokens(job_config, tokenizer, training.dataset),
        seq_len=training.seq_len,
        batch_size=training.local_batch_size,
        seed=seed,
        streams=range(dp_rank * micro_batches, (dp_rank + 1) * micro_batches),
        dropout_seed=derived_seed(seed, "dropout", dp_rank) if dp_rank > 0 else None,
    )
    return ParallelAwareDataloader(dataset, dp_rank, dp_world_size, batch_size=None)
