"""What the benchmarks share: a working directory as nanoGPT's scripts expect one, from the
checkout that `NANOGPT_DIR` names (the side-by-side rows are skipped without one)."""

import os
from pathlib import Path

import pytest

NANOGPT_SCRIPTS = ("train.py", "model.py", "configurator.py", "sample.py", "config")


@pytest.fixture
def nanogpt_checkout(tmp_path) -> Path:
    """`tmp_path` with nanoGPT's scripts and configs linked in and an empty `data/`: train.py
    reads configurator.py, config/ and data/<dataset>/ from its working directory."""
    checkout = os.environ.get("NANOGPT_DIR")
    if not checkout:
        pytest.skip("NANOGPT_DIR names no checkout of nanoGPT")
    for name in NANOGPT_SCRIPTS:
        (tmp_path / name).symlink_to(Path(checkout) / name)
    (tmp_path / "data").mkdir()
    return tmp_path
