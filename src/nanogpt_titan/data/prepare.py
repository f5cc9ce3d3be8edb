"""Text files into a nanoGPT data folder, streaming: any size in bounded memory.

nanoGPT's `data/*/prepare.py` read the whole text: the first `int(0.9 * n)` of its n
characters are the training split, the rest validation. Here the inputs, one text as if
concatenated, are read twice in chunks, each pass reporting its progress:

- `char` (`data/shakespeare_char/prepare.py`): the first pass finds the characters, whose
  sorted order gives the ids; the second writes them. For tiny Shakespeare the bytes of
  `train.bin` and `val.bin` are nanoGPT's, and `meta.pkl` holds the same dictionary.
- `gpt2` (`data/shakespeare/prepare.py`): the first pass counts characters; the second encodes
  each split with tiktoken's `encode_ordinary`, in pieces cut where GPT-2's pre-tokenizer
  always splits, so that the ids are those of encoding the split whole; the pieces are
  encoded on every core.

Text is read as nanoGPT's `open(path)` reads it: UTF-8, with universal newlines. The folder is
written beside its destination and renamed into place: an interrupted prepare leaves nothing
that looks like a finished folder, and an existing folder is never overwritten.
"""

import codecs
import io
import os
import pickle
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from nanogpt_titan.data.folder_format import META_FILE, SPLIT_FILES, TOKEN_DTYPE
from nanogpt_titan.data.vocabulary import MAX_TOKEN_IDS, CharVocabulary, gpt2_encoding
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.progress import Meter, to_stderr
from nanogpt_titan.safe_write import refuse_existing, written_atomically

TRAIN_FRACTION = 0.9
CHUNK_BYTES = 1 << 22  # text is read 4 MiB at a time
PIECE_CHARS = 1 << 20  # and BPE-encoded in pieces of about a million characters
UNICODE_CODE_POINTS = 0x110000
TOKENIZERS = ("char", "gpt2")


def prepare(inputs: list[Path], out: Path, tokenizer: str = "char", report: Callable[[str], None] = to_stderr) -> None:
    """Write `out` (train.bin, val.bin, and meta.pkl for `char`) from the text of `inputs`."""
    if tokenizer not in TOKENIZERS:
        raise NanoGPTTitanError(f"tokenizer {tokenizer!r} is none of {list(TOKENIZERS)}")
    refuse_existing(out)
    for path in inputs:
        if not path.is_file():
            raise NanoGPTTitanError(f"{path} is not a file; prepare reads text files")
    if not any(path.stat().st_size for path in inputs):
        raise NanoGPTTitanError(f"{', '.join(map(str, inputs))}: empty; prepare a text with something in it")
    with written_atomically(out, is_dir=True) as folder:
        vocabulary = (_prepare_chars if tokenizer == "char" else _prepare_gpt2)(inputs, folder, report)
        counts = ", ".join(
            f"{name} {(folder / name).stat().st_size // TOKEN_DTYPE.itemsize:,} tokens" for name in SPLIT_FILES.values()
        )
    report(f"prepared {out}: {vocabulary}, {counts}")


def _text(inputs: list[Path], label: str, report: Callable[[str], None]) -> Iterator[str]:
    """The inputs' text, chunk by chunk, decoded as UTF-8 with universal newlines; the bytes
    read are reported."""
    meter = Meter(sum(path.stat().st_size for path in inputs), label, "MB", report, scale=1e6)
    for path in inputs:
        decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder("utf-8")(), translate=True)
        offset = 0
        with path.open("rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield _decoded(decoder, chunk, path, offset)
                offset += len(chunk)
                meter.advance(len(chunk))
            yield _decoded(decoder, b"", path, offset)  # a "\r" held back, or a truncated character


def _decoded(decoder: io.IncrementalNewlineDecoder, chunk: bytes, path: Path, offset: int) -> str:
    try:
        return decoder.decode(chunk, final=not chunk)
    except UnicodeDecodeError as error:
        raise NanoGPTTitanError(
            f"{path} is not UTF-8 text ({error.reason} at byte {offset + error.start:,}); prepare UTF-8 text files"
        ) from None


def _code_points(text: str) -> np.ndarray:
    """The text's code points: bytes for ASCII text (most corpora, and four times fewer)."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


class _Ids(Protocol):
    """A split's ids, written as its text comes."""

    def add(self, text: str) -> None: ...

    def finish(self) -> None: ...


def _write_splits(texts: Iterable[str], n_chars: int, train: _Ids, val: _Ids) -> None:
    """Each text, in order, to `train` while its characters lie in the first `int(0.9 * n_chars)`
    of the whole, and to `val` after."""
    boundary, position = int(n_chars * TRAIN_FRACTION), 0
    for text in texts:
        cut = min(max(boundary - position, 0), len(text))
        if cut:
            train.add(text[:cut])
        if cut < len(text):
            val.add(text[cut:])
        position += len(text)
    train.finish()
    val.finish()


class _CharIds:
    """A split's character ids."""

    def __init__(self, file: BinaryIO, ids_of_code_points: np.ndarray):
        self.file, self.ids_of_code_points = file, ids_of_code_points

    def add(self, text: str) -> None:
        self.ids_of_code_points[_code_points(text)].tofile(self.file)

    def finish(self) -> None:
        """Nothing held back."""


class _GPT2Ids:
    """A split's GPT-2 BPE ids. Text is cut into pieces just before a space or newline that
    follows a non-space character: GPT-2's pre-tokenizer splits there whatever comes next, so
    the pieces' ids are the split's ids encoded whole. Pieces are encoded a batch at a time on
    `threads` threads (tiktoken releases the GIL)."""

    def __init__(self, file: BinaryIO, encoding, threads: int):
        self.file, self.encoding, self.threads = file, encoding, threads
        self.text, self.pieces = "", []

    def add(self, text: str) -> None:
        self.text += text
        while len(self.text) >= PIECE_CHARS and (cut := _last_pretoken_boundary(self.text)):
            self.pieces.append(self.text[:cut])
            self.text = self.text[cut:]
            if len(self.pieces) == 2 * self.threads:
                self._encode()

    def finish(self) -> None:
        self.pieces.append(self.text)
        self._encode()

    def _encode(self) -> None:
        for ids in self.encoding.encode_ordinary_batch(self.pieces, num_threads=self.threads):
            np.array(ids, dtype=TOKEN_DTYPE).tofile(self.file)
        self.pieces = []


def _last_pretoken_boundary(text: str) -> int:
    """The last index of a space or newline right after a non-space character, 0 if none."""
    end = len(text)
    while (index := max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))) > 0:
        if not text[index - 1].isspace():
            return index
        end = index
    return 0


def _prepare_chars(inputs: list[Path], folder: Path, report: Callable[[str], None]) -> str:
    seen, n_chars = np.zeros(UNICODE_CODE_POINTS, dtype=bool), 0
    for text in _text(inputs, "prepare, characters", report):
        code_points = _code_points(text)
        if code_points.dtype == np.uint8:  # counting 256 bins is faster than scattering flags
            seen[:256] |= np.bincount(code_points, minlength=256) > 0
        else:
            seen[code_points] = True
        n_chars += len(text)
    code_points = np.flatnonzero(seen)
    if len(code_points) > MAX_TOKEN_IDS:
        raise NanoGPTTitanError(
            f"the text has {len(code_points):,} distinct characters; uint16 ids hold {MAX_TOKEN_IDS:,}"
        )
    ids_of_code_points = np.zeros(code_points[-1] + 1, dtype=TOKEN_DTYPE)
    ids_of_code_points[code_points] = np.arange(len(code_points))
    with (folder / SPLIT_FILES["train"]).open("wb") as train, (folder / SPLIT_FILES["val"]).open("wb") as val:
        _write_splits(
            _text(inputs, "prepare, ids", report),
            n_chars,
            _CharIds(train, ids_of_code_points),
            _CharIds(val, ids_of_code_points),
        )
    vocabulary = CharVocabulary(tuple(map(chr, code_points)))
    with (folder / META_FILE).open("wb") as file:
        pickle.dump(vocabulary.to_meta(), file)
    return f"{len(vocabulary.chars)} characters"


def _prepare_gpt2(inputs: list[Path], folder: Path, report: Callable[[str], None]) -> str:
    encoding = gpt2_encoding()
    n_chars = sum(len(text) for text in _text(inputs, "prepare, characters", report))
    threads = os.cpu_count() or 1
    with (folder / SPLIT_FILES["train"]).open("wb") as train, (folder / SPLIT_FILES["val"]).open("wb") as val:
        _write_splits(
            _text(inputs, "prepare, GPT-2 BPE", report),
            n_chars,
            _GPT2Ids(train, encoding, threads),
            _GPT2Ids(val, encoding, threads),
        )
    return "GPT-2 BPE"
