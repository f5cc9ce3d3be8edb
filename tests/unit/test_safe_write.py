"""Outputs are never written over an existing path, never left half-written."""

import os
import stat

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.safe_write import refuse_existing, written_atomically


@pytest.mark.parametrize("is_dir", [False, True])
def test_an_interrupted_write_leaves_nothing(tmp_path, is_dir):
    with pytest.raises(KeyboardInterrupt), written_atomically(tmp_path / "out", is_dir=is_dir) as partial:
        (partial / "half" if is_dir else partial).write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_write_lands_whole_with_the_modes_the_umask_gives(tmp_path):
    with written_atomically(tmp_path / "folder", is_dir=True) as folder:
        (folder / "file").write_text("whole")
    with written_atomically(tmp_path / "file.txt") as partial:
        partial.write_text("whole")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((tmp_path / "file.txt").stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "folder"]


def test_an_existing_destination_is_named_and_kept(tmp_path):
    (tmp_path / "taken").write_text("mine")
    with pytest.raises(NanoGPTTitanError, match="taken already exists"):
        refuse_existing(tmp_path / "free", tmp_path / "taken")
    with pytest.raises(NanoGPTTitanError), written_atomically(tmp_path / "taken"):
        pass
    assert (tmp_path / "taken").read_text() == "mine"
