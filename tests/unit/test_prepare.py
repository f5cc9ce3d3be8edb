"""`nanogpt-titan prepare`: text files into a nanoGPT data folder, streaming and atomic."""

import pickle
import re

import numpy as np
import pytest

from nanogpt_titan.data import prepare as prepare_module
from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.data.prepare import prepare
from nanogpt_titan.errors import NanoGPTTitanError

NANOGPT_META = "tests/fixtures/nanogpt/shakespeare_char_meta.pkl"  # nanoGPT's own, for tiny Shakespeare


def nanogpt_char_split(text: str) -> tuple[bytes, bytes, dict]:
    """data/shakespeare_char/prepare.py, as the reference describes it: ids in sorted(set(text)),
    the first int(0.9 * n) characters train, uint16 bytes, meta {vocab_size, itos, stoi}."""
    chars = sorted(set(text))
    stoi = {char: i for i, char in enumerate(chars)}
    n = int(len(text) * 0.9)
    as_bytes = lambda part: np.array([stoi[char] for char in part], dtype=np.uint16).tobytes()  # noqa: E731
    return (
        as_bytes(text[:n]),
        as_bytes(text[n:]),
        {"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi},
    )


def test_tiny_shakespeare_prepares_into_nanogpts_bytes(tmp_path, shakespeare_text, repo_root):
    from nanogpt_titan.data.text import resolve_text_path

    lines = []
    prepare([resolve_text_path()], tmp_path / "shakespeare_char", report=lines.append)
    train, val, meta = nanogpt_char_split(shakespeare_text)
    folder = tmp_path / "shakespeare_char"
    assert (folder / "train.bin").read_bytes() == train and (folder / "val.bin").read_bytes() == val
    assert (len(train), len(val)) == (2_007_708, 223_080)  # the reference's byte counts
    saved = pickle.loads((folder / "meta.pkl").read_bytes())
    assert saved == meta == pickle.loads((repo_root / NANOGPT_META).read_bytes())
    assert lines[-1] == f"prepared {folder}: 65 characters, train.bin 1,003,854 tokens, val.bin 111,540 tokens"
    assert any(line.startswith("prepare, characters: 1.1/1.1 MB (100%)") for line in lines)


@pytest.mark.parametrize("chunk_bytes", [1, 3, 7, 4096])
def test_chunks_never_split_a_character_or_a_crlf_and_inputs_read_as_one_text(tmp_path, monkeypatch, chunk_bytes):
    """UTF-8 read in chunks of any size, with universal newlines as nanoGPT's open(path)."""
    monkeypatch.setattr(prepare_module, "CHUNK_BYTES", chunk_bytes)
    parts = ["Ünïcödé ≠ ascii,\r\nwith CRLF\r\n", "日本語\rand a lone CR, ", "then more text\n" * 5]
    inputs = []
    for number, part in enumerate(parts):
        inputs.append(tmp_path / f"{number}.txt")
        inputs[-1].write_bytes(part.encode("utf-8"))
    prepare(inputs, tmp_path / "out", report=lambda line: None)
    text = "".join(parts).replace("\r\n", "\n").replace("\r", "\n")
    train, val, meta = nanogpt_char_split(text)
    assert (tmp_path / "out" / "train.bin").read_bytes() == train and (tmp_path / "out" / "val.bin").read_bytes() == val
    assert pickle.loads((tmp_path / "out" / "meta.pkl").read_bytes()) == meta


@pytest.fixture(scope="module")
def toy_gpt2_encoding():
    """GPT-2's pre-tokenizer with merges made here (the real merges are a download): every
    prefix of a few frequent words, a valid BPE table."""
    import tiktoken
    from tiktoken_ext.openai_public import r50k_pat_str

    ranks = {bytes([byte]): byte for byte in range(256)}
    for word in (" the", " and", " to", "ing", "\n\n", "  ", " I", "thou", " be", "er", " you", "'s"):
        for end in range(2, len(word.encode()) + 1):
            ranks.setdefault(word.encode()[:end], len(ranks))
    return tiktoken.Encoding(
        "toy-gpt2", pat_str=r50k_pat_str, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": len(ranks)}
    )


def test_gpt2_bpe_in_pieces_gives_the_ids_of_each_split_encoded_whole(
    tmp_path, monkeypatch, shakespeare_text, toy_gpt2_encoding
):
    """Pieces of ~64 characters cut before a space or newline after a non-space: 100s of cuts,
    at runs of spaces and blank lines, contractions, digits, none of which changes an id."""
    monkeypatch.setattr(prepare_module, "gpt2_encoding", lambda: toy_gpt2_encoding)
    monkeypatch.setattr(prepare_module, "PIECE_CHARS", 64)
    text = shakespeare_text[:20_000] + "  two  spaces,\t\ttabs \n\n\n digits 1234 5678 and   trailing   \n"
    (tmp_path / "input.txt").write_text(text)
    prepare([tmp_path / "input.txt"], tmp_path / "out", "gpt2", report=lambda line: None)
    n = int(len(text) * 0.9)
    for name, part in (("train.bin", text[:n]), ("val.bin", text[n:])):
        expected = np.array(toy_gpt2_encoding.encode_ordinary(part), dtype=np.uint16)
        assert np.array_equal(np.fromfile(tmp_path / "out" / name, dtype=np.uint16), expected), name
    assert not (tmp_path / "out" / "meta.pkl").exists()
    assert DataFolder(tmp_path / "out").vocabulary.id_limit == 50257


@pytest.mark.parametrize(
    "content, fact",
    [
        (b"", "empty; prepare a text with something in it"),
        (
            b"good text\nthen caf\xe9\n",
            r"is not UTF-8 text \(invalid continuation byte at byte 18\); prepare UTF-8 text files",
        ),
    ],
)
def test_an_empty_or_non_utf8_input_is_one_line_and_nothing_is_written(tmp_path, content, fact):
    (tmp_path / "input.txt").write_bytes(content)
    with pytest.raises(NanoGPTTitanError, match=re.escape(str(tmp_path / "input.txt")) + f".*{fact}$"):
        prepare([tmp_path / "input.txt"], tmp_path / "out", report=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.txt"]


def test_an_existing_folder_a_missing_input_or_another_tokenizer_are_refused(tmp_path):
    (tmp_path / "input.txt").write_text("text\n")
    (tmp_path / "out").mkdir()
    with pytest.raises(NanoGPTTitanError, match="out already exists; choose a new path or remove it first"):
        prepare([tmp_path / "input.txt"], tmp_path / "out")
    with pytest.raises(NanoGPTTitanError, match="nope.txt is not a file; prepare reads text files"):
        prepare([tmp_path / "nope.txt"], tmp_path / "new")
    with pytest.raises(NanoGPTTitanError, match=r"tokenizer 'bpe' is none of \['char', 'gpt2'\]"):
        prepare([tmp_path / "input.txt"], tmp_path / "new", "bpe")


def test_an_interrupted_prepare_leaves_nothing_that_looks_like_a_folder(tmp_path, monkeypatch):
    (tmp_path / "input.txt").write_text("some text\n" * 100)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(prepare_module.pickle, "dump", interrupted)  # after train.bin and val.bin are written
    with pytest.raises(KeyboardInterrupt):
        prepare([tmp_path / "input.txt"], tmp_path / "out", report=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.txt"]


def test_the_prepare_command(tmp_path, cli, capsys):
    (tmp_path / "a.txt").write_text("hello world\n" * 50)
    assert cli("prepare", tmp_path / "a.txt", "--out", tmp_path / "data") == 0
    assert DataFolder(tmp_path / "data").vocabulary.chars == tuple(sorted(set("hello world\n")))
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"prepared {tmp_path / 'data'}: 9 characters, train.bin 540 tokens, val.bin 60 tokens"
    )
    assert cli("prepare", tmp_path / "a.txt", "--out", tmp_path / "data") == 2
    assert "already exists" in capsys.readouterr().err
