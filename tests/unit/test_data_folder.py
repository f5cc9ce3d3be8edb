"""nanoGPT data folders (`nanogpt_titan.data.folder`): memory-mapped splits, checked ids."""

import pickle

import numpy as np
import pytest
import torch

from nanogpt_titan.data.folder import DataFolder, TokenFile
from nanogpt_titan.data.vocabulary import CharVocabulary, GPT2Vocabulary
from nanogpt_titan.errors import NanoGPTTitanError


def make_folder(path, train=range(100), val=range(20), chars: str | None = "abcdefghij" * 10):
    path.mkdir(parents=True)
    np.asarray(train, dtype=np.uint16).tofile(path / "train.bin")
    np.asarray(val, dtype=np.uint16).tofile(path / "val.bin")
    if chars is not None:
        (path / "meta.pkl").write_bytes(pickle.dumps(CharVocabulary(tuple(dict.fromkeys(chars))).to_meta()))
    return path


def test_a_folder_with_meta_pkl_is_characters_and_without_it_gpt2_bpe(tmp_path):
    assert DataFolder(make_folder(tmp_path / "char")).vocabulary == CharVocabulary(tuple("abcdefghij"))
    bpe = DataFolder(make_folder(tmp_path / "bpe", chars=None))
    assert bpe.vocabulary == GPT2Vocabulary() and bpe.split("train").id_limit == 50257


def test_splits_read_windows_and_ranges_as_int64(tmp_path):
    folder = DataFolder(make_folder(tmp_path / "f", train=[5, 3, 9, 1, 0, 7], chars="0123456789"))
    train = folder.split("train")
    assert len(train) == 6
    assert torch.equal(train.windows(torch.tensor([0, 3]), 3), torch.tensor([[5, 3, 9], [1, 0, 7]]))
    assert torch.equal(train.read(2, 5), torch.tensor([9, 1, 0])) and train.read(2, 5).dtype == torch.int64


def test_ids_beyond_the_vocabulary_are_one_line_naming_the_file_and_offset(tmp_path):
    folder = DataFolder(make_folder(tmp_path / "f", train=[1, 2, 3, 12, 4, 5], chars="0123456789"))
    train = folder.split("train")
    message = (
        f"{train.path}: token id 12 at offset 3 is not below the vocabulary's 10 ids: the ids do not belong to the "
        "folder's vocabulary (meta.pkl's characters, or GPT-2's BPE without one); prepare the folder again"
    )
    with pytest.raises(NanoGPTTitanError) as error:
        train.windows(torch.tensor([0, 2]), 3)
    assert str(error.value) == message
    with pytest.raises(NanoGPTTitanError) as error:
        train.read(0, 6)
    assert str(error.value) == message
    assert train.windows(torch.tensor([0]), 3).tolist() == [[1, 2, 3]]  # windows of valid ids pass


def test_bad_folders_are_one_line_naming_the_path_and_the_fix(tmp_path):
    with pytest.raises(NanoGPTTitanError, match=r"nope is not a folder: name a nanoGPT data folder"):
        DataFolder(tmp_path / "nope")
    folder = make_folder(tmp_path / "f")
    (folder / "val.bin").unlink()
    with pytest.raises(
        NanoGPTTitanError, match=r"val.bin does not exist: a nanoGPT data folder holds train.bin and val.bin"
    ):
        DataFolder(folder).split("val")
    (folder / "train.bin").write_bytes(b"\x01\x00\x02")
    with pytest.raises(NanoGPTTitanError, match=r"train.bin is 3 bytes, an odd size for uint16 token ids"):
        DataFolder(folder).split("train")
    (folder / "meta.pkl").write_bytes(b"not a pickle")
    with pytest.raises(NanoGPTTitanError, match=r"meta.pkl is not a nanoGPT meta.pkl"):
        DataFolder(folder)


def test_a_split_is_never_loaded_whole(tmp_path, monkeypatch):
    """Each read maps the file afresh and copies out only what it asked for."""
    train = TokenFile(make_folder(tmp_path / "f", train=range(10_000)) / "train.bin", 2**16)
    maps = []
    memmap = np.memmap
    monkeypatch.setattr(np, "memmap", lambda *args, **kwargs: maps.append(args) or memmap(*args, **kwargs))
    assert train.windows(torch.tensor([7, 70]), 4).tolist() == [[7, 8, 9, 10], [70, 71, 72, 73]]
    train.read(0, 3)
    assert len(maps) == 2
