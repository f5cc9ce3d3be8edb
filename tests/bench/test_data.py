"""Data at scale, side by side with nanoGPT: start-up and memory of a training process on data
folders of 2 MB to an OpenWebText-sized 17 GB, `prepare` against nanoGPT's `prepare.py`, and
batches drawn per second against nanoGPT's `get_batch`.

Run when asked for, as every benchmark (`pytest tests/bench/test_data.py`); the comparisons with
nanoGPT's own scripts need a checkout of it: `NANOGPT_DIR=/path/to/nanoGPT`. Each process is
timed whole, its peak resident memory read from the kernel (`os.wait4` in a small launcher).
The targets: flat start-up and memory (within 2 s and 15% of the 2 MB folder's), `prepare` at
least twice as fast as nanoGPT's and under 500 MB, batches no slower than nanoGPT's
`get_batch`. docs/performance.md keeps the measured table.
"""

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nanogpt_titan.data.folder import TokenFile
from nanogpt_titan.data.vocabulary import CharVocabulary

REPO_ROOT = Path(__file__).resolve().parents[2]
MB = 10**6
FOLDER_SIZES = {"2MB": 2 * MB, "100MB": 100 * MB, "1GB": 1000 * MB, "17GB-sparse": 17 * 1000 * MB}
TEXT_SIZES = {"100MB": 100 * MB, "1GB": 1000 * MB}


# Forks and times the command from a small interpreter of its own: a child's peak resident
# memory counts the memory of the process it was forked from until it execs, which from pytest
# (torch imported) would be hundreds of MB.
LAUNCHER = """import os, sys, time
report, command = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(command[0], command)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as file:
    file.write(f"{time.perf_counter() - start} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def timed_process(command: list[str], cwd: Path, **kwargs) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one process; its output goes to `cwd/output.log`."""
    report = cwd / "timing.txt"
    with (cwd / "output.log").open("w") as output:
        subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(report), *command],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            check=True,
            **kwargs,
        )
    seconds, max_rss_kib, exit_code = report.read_text().split()
    if exit_code != "0":
        raise AssertionError(f"{command} failed: {(cwd / 'output.log').read_text()[-2000:]}")
    return float(seconds), int(max_rss_kib) / 1024


@pytest.fixture(scope="module")
def data_folders(tmp_path_factory):
    """Character data folders whose train.bin has each size (the 17 GB one sparse: no disk used)."""
    root = tmp_path_factory.mktemp("folders")
    vocabulary = CharVocabulary(tuple(chr(32 + i) for i in range(65)))
    rng = np.random.default_rng(0)
    folders = {}
    for name, size in FOLDER_SIZES.items():
        folder = root / name
        folder.mkdir()
        with (folder / "train.bin").open("wb") as train:
            if name.endswith("sparse"):
                train.truncate(size)
            else:
                for _ in range(size // (2 * MB)):
                    rng.integers(0, 65, MB, dtype=np.uint16).tofile(train)
        rng.integers(0, 65, MB, dtype=np.uint16).tofile(folder / "val.bin")
        (folder / "meta.pkl").write_bytes(pickle.dumps(vocabulary.to_meta()))
        folders[name] = folder
    return folders


@pytest.mark.parametrize("size", FOLDER_SIZES)
def test_training_start_up_and_peak_memory(benchmark, data_folders, tmp_path, size):
    """`run_train.sh` with the debug model for 2 steps, on the folder: process wall time and peak RSS."""
    command = [
        str(REPO_ROOT / "run_train.sh"),
        "--training.dataset",
        "nanogpt_train",
        "--validation.dataset",
        "nanogpt_validation",
        "--training.dataset_path",
        str(data_folders[size]),
        "--training.steps",
        "2",
        "--checkpoint.no-enable",
        "--validation.no-enable",
        "--job.dump_folder",
        str(tmp_path / "run"),
    ]
    env = {**os.environ, "CONFIG_FILE": str(REPO_ROOT / "src/nanogpt_titan/train_configs/debug_model.toml")}
    runs = []
    benchmark.pedantic(lambda: runs.append(timed_process(command, tmp_path, env=env)), rounds=3, iterations=1)
    benchmark.extra_info.update(wall_seconds=min(s for s, _ in runs), peak_rss_mb=round(max(m for _, m in runs)))


@pytest.mark.parametrize("size", FOLDER_SIZES)
def test_nanogpt_training_start_up_and_peak_memory(benchmark, data_folders, nanogpt_checkout, size):
    """nanoGPT's train.py on the same folder: 2 iterations of a model of the debug model's size."""
    (nanogpt_checkout / "data" / "bench").symlink_to(data_folders[size])
    command = [
        sys.executable,
        "train.py",
        "--dataset=bench",
        "--device=cpu",
        "--compile=False",
        "--n_layer=2",
        "--n_head=2",
        "--n_embd=64",
        "--block_size=64",
        "--batch_size=8",
        "--gradient_accumulation_steps=1",
        "--max_iters=1",
        "--eval_interval=1000",
        "--eval_iters=1",
        "--always_save_checkpoint=False",
        "--out_dir=out",
    ]
    runs = []
    benchmark.pedantic(lambda: runs.append(timed_process(command, nanogpt_checkout)), rounds=3, iterations=1)
    benchmark.extra_info.update(wall_seconds=min(s for s, _ in runs), peak_rss_mb=round(max(m for _, m in runs)))


@pytest.fixture(scope="module")
def texts(tmp_path_factory, shakespeare_text):
    """Texts of each size: tiny Shakespeare over and over."""
    root = tmp_path_factory.mktemp("texts")
    paths = {}
    for name, size in TEXT_SIZES.items():
        paths[name] = root / f"{name}.txt"
        with paths[name].open("w", encoding="utf-8") as text:
            for _ in range(size // len(shakespeare_text)):
                text.write(shakespeare_text)
    return paths


@pytest.mark.parametrize("size", TEXT_SIZES)
def test_prepare(benchmark, texts, tmp_path, size):
    out = tmp_path / "out"
    runs = []

    def once():
        shutil.rmtree(out, ignore_errors=True)
        runs.append(
            timed_process([shutil.which("nanogpt-titan"), "prepare", str(texts[size]), "--out", str(out)], tmp_path)
        )

    benchmark.pedantic(once, rounds=1, iterations=1)
    benchmark.extra_info.update(
        wall_seconds=runs[0][0],
        peak_rss_mb=round(runs[0][1]),
        megabytes_per_second=round(TEXT_SIZES[size] / MB / runs[0][0], 1),
    )


@pytest.mark.parametrize("size", TEXT_SIZES)
def test_nanogpt_prepare(benchmark, texts, nanogpt_checkout, size):
    """nanoGPT's data/shakespeare_char/prepare.py, reading the text as its input.txt."""
    shutil.copy(
        (nanogpt_checkout / "train.py").resolve().parent / "data" / "shakespeare_char" / "prepare.py", nanogpt_checkout
    )
    (nanogpt_checkout / "input.txt").symlink_to(texts[size])
    runs = []
    benchmark.pedantic(
        lambda: runs.append(timed_process([sys.executable, "prepare.py"], nanogpt_checkout)), rounds=1, iterations=1
    )
    benchmark.extra_info.update(
        wall_seconds=runs[0][0],
        peak_rss_mb=round(runs[0][1]),
        megabytes_per_second=round(TEXT_SIZES[size] / MB / runs[0][0], 1),
    )


BATCH_SHAPES = {"mini-gpt": (64, 256), "gpt2": (12, 1024)}  # (batch_size, block_size)


def nanogpt_get_batch(path: Path, batch_size: int, block_size: int):
    """nanoGPT's get_batch on a CPU, as the reference describes it: a fresh np.memmap per batch,
    starts from torch.randint, each window copied out as int64 and stacked."""
    data = np.memmap(path, dtype=np.uint16, mode="r")
    starts = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([torch.from_numpy(data[i : i + block_size].astype(np.int64)) for i in starts])
    y = torch.stack([torch.from_numpy(data[i + 1 : i + 1 + block_size].astype(np.int64)) for i in starts])
    return x, y


@pytest.mark.parametrize("reader", ["ours", "nanogpt"])
@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_batches_per_second(benchmark, data_folders, shape, reader):
    """Batches of the 100 MB folder's train split: TokenFile.windows (with the id check) against
    nanoGPT's get_batch."""
    batch_size, block_size = BATCH_SHAPES[shape]
    path = data_folders["100MB"] / "train.bin"
    tokens = TokenFile(path, 65)
    generator = torch.Generator().manual_seed(0)
    if reader == "ours":

        def draw():
            starts = torch.randint(len(tokens) - block_size, (batch_size,), generator=generator)
            windows = tokens.windows(starts, block_size + 1)
            return windows[:, :-1], windows[:, 1:]
    else:

        def draw():
            return nanogpt_get_batch(path, batch_size, block_size)

    benchmark.pedantic(draw, rounds=200, iterations=5, warmup_rounds=5)
    benchmark.extra_info.update(batches_per_second=round(1 / benchmark.stats.stats.median))
