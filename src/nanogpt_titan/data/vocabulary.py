"""What token ids mean: a character vocabulary (nanoGPT's `meta.pkl`), or GPT-2's BPE.

A nanoGPT data folder with `meta.pkl` holds character ids; without it, GPT-2 BPE ids, as
nanoGPT's `train.py` assumes. A checkpoint records its model's vocabulary in `vocabulary.json`
beside its args: the characters in id order, or `{"tokenizer": "gpt2"}`.
"""

import pickle
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from nanogpt_titan.errors import NanoGPTTitanError

GPT2_TOKENS = 50257  # tiktoken's gpt2 encoding: 50,000 merges, 256 bytes, <|endoftext|>
GPT2_MODEL_VOCAB = 50304  # nanoGPT's from-scratch vocab_size: 50257 padded to a multiple of 64
MAX_TOKEN_IDS = 2**16  # ids are stored as uint16


@dataclass(frozen=True)
class CharVocabulary:
    """nanoGPT's character vocabulary: ids are positions in `chars`, `sorted(set(text))` of the
    whole text; no BOS/EOS, ever."""

    chars: tuple[str, ...]

    @property
    def model_size(self) -> int:
        """The model's vocab_size for this vocabulary (nanoGPT's meta vocab_size)."""
        return len(self.chars)

    @property
    def id_limit(self) -> int:
        """Every id in the data is below this."""
        return len(self.chars)

    @cached_property
    def ids(self) -> dict[str, int]:
        return {char: i for i, char in enumerate(self.chars)}

    def encode(self, text: str) -> list[int]:
        try:
            return [self.ids[char] for char in text]
        except KeyError:
            position, char = next((pos, ch) for pos, ch in enumerate(text) if ch not in self.ids)
            raise NanoGPTTitanError(
                f"character {char!r} at position {position} is not in the vocabulary of {len(self.chars)} characters"
            ) from None

    def decode(self, ids) -> str:
        ids = [int(i) for i in ids]
        bad = next((i for i in ids if not 0 <= i < len(self.chars)), None)
        if bad is not None:
            raise NanoGPTTitanError(f"token id {bad} is outside the vocabulary [0, {len(self.chars)})")
        return "".join(self.chars[i] for i in ids)

    def check_model(self, vocab_size: int, recorded: "Vocabulary | None", model: str, fix: str) -> None:
        """Refuse a model whose ids would mean other characters: its recorded vocabulary differs
        (compared character for character), or its vocab_size does."""
        if isinstance(recorded, GPT2Vocabulary):
            raise NanoGPTTitanError(f"{model} was trained on GPT-2 BPE tokens, this data is characters; {fix}")
        if recorded is not None and recorded != self:
            only_model = "".join(sorted(set(recorded.chars) - set(self.chars)))
            only_data = "".join(sorted(set(self.chars) - set(recorded.chars)))
            raise NanoGPTTitanError(
                f"{model} was trained on other characters than the data's: only the model has {only_model!r}, only "
                f"the data has {only_data!r}; {fix}"
            )
        if vocab_size != len(self.chars):
            raise NanoGPTTitanError(
                f"{model} has vocab_size={vocab_size} but the data's character vocabulary has {len(self.chars)}; {fix}"
            )

    def to_json(self) -> list[str]:
        return list(self.chars)

    def to_meta(self) -> dict:
        """nanoGPT's `meta.pkl` contents."""
        return {"vocab_size": len(self.chars), "itos": dict(enumerate(self.chars)), "stoi": dict(self.ids)}


@dataclass(frozen=True)
class GPT2Vocabulary:
    """GPT-2's BPE (tiktoken's `gpt2` encoding), as nanoGPT assumes for a folder without
    `meta.pkl`: a model from scratch gets 50304 rows, OpenAI's weights have 50257."""

    @property
    def model_size(self) -> int:
        return GPT2_MODEL_VOCAB

    @property
    def id_limit(self) -> int:
        return GPT2_TOKENS

    def encode(self, text: str) -> list[int]:
        """A prompt's ids, as nanoGPT's sample.py encodes it: `<|endoftext|>` is GPT-2's token 50256."""
        return gpt2_encoding().encode(text, allowed_special={"<|endoftext|>"})

    def decode(self, ids) -> str:
        ids = [int(i) for i in ids]
        bad = next((i for i in ids if not 0 <= i < GPT2_TOKENS), None)
        if bad is not None:
            raise NanoGPTTitanError(
                f"token id {bad} is no GPT-2 token (ids 50257..50303 are the padding rows of nanoGPT's 50304): the "
                "model put weight where training never did"
            )
        return gpt2_encoding().decode(ids)

    def check_model(self, vocab_size: int, recorded: "Vocabulary | None", model: str, fix: str) -> None:
        if isinstance(recorded, CharVocabulary):
            raise NanoGPTTitanError(f"{model} was trained on characters, this data is GPT-2 BPE tokens; {fix}")
        if vocab_size < GPT2_TOKENS:
            raise NanoGPTTitanError(
                f"{model} has vocab_size={vocab_size}, fewer than GPT-2's {GPT2_TOKENS} BPE tokens; {fix}"
            )

    def to_json(self) -> dict:
        return {"tokenizer": "gpt2"}


Vocabulary = CharVocabulary | GPT2Vocabulary


def vocabulary_from_json(value: object, source: Path) -> Vocabulary:
    """The vocabulary a `vocabulary.json` records (see `to_json`)."""
    if value == GPT2Vocabulary().to_json():
        return GPT2Vocabulary()
    if isinstance(value, list) and all(isinstance(c, str) and len(c) == 1 for c in value):
        return CharVocabulary(tuple(value))
    raise NanoGPTTitanError(f"{source} is neither a list of single characters nor {GPT2Vocabulary().to_json()}")


def gpt2_encoding():
    """tiktoken's `gpt2` encoding, which tiktoken downloads once into its cache."""
    try:
        import tiktoken
    except ModuleNotFoundError:
        raise NanoGPTTitanError("GPT-2 BPE data needs tiktoken: pip install 'nanogpt-titan[bpe]'") from None
    try:
        return tiktoken.get_encoding("gpt2")
    except Exception as error:  # tiktoken's download, offline: requests' or blobfile's own error types
        raise NanoGPTTitanError(
            f"tiktoken could not load GPT-2's BPE files ({type(error).__name__}): run once where "
            "openaipublic.blob.core.windows.net is reachable, or point TIKTOKEN_CACHE_DIR at a folder that "
            "holds tiktoken's cached gpt2 files"
        ) from None


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"it holds a {module}.{name} object")


def read_meta(path: Path) -> CharVocabulary:
    """The characters of nanoGPT's `meta.pkl` (`itos`), read as plain data: a pickle that names
    any class or function is refused, never executed."""
    try:
        with path.open("rb") as file:
            meta = _PlainDataUnpickler(file).load()
        itos = meta["itos"]
        chars = tuple(itos[i] for i in range(len(itos)))
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as error:
        raise NanoGPTTitanError(
            f"{path} is not a nanoGPT meta.pkl (plain data: a dict with 'itos', ids 0..n-1 to characters): {error}"
        ) from None
    if not all(isinstance(char, str) and len(char) == 1 for char in chars):
        raise NanoGPTTitanError(f"{path}: its 'itos' maps ids to something other than single characters")
    if len(chars) > MAX_TOKEN_IDS:
        raise NanoGPTTitanError(f"{path} has {len(chars):,} characters; uint16 ids hold {MAX_TOKEN_IDS:,} at most")
    return CharVocabulary(chars)
