"""nanoGPT's character tokenizer for tiny Shakespeare, as a torchtitan `BaseTokenizer`."""

import functools
from pathlib import Path

from torchtitan.components.tokenizer import BaseTokenizer
from torchtitan.config import JobConfig

from nanogpt_titan.datasets import load_text, resolve_text_path
from nanogpt_titan.errors import NanoGPTTitanError


class NanoGPTCharTokenizer(BaseTokenizer):
    """Ids are positions in `sorted(set(text))` of the whole text; no BOS/EOS, ever."""

    def __init__(self, text: str):
        super().__init__()
        if not text:
            raise NanoGPTTitanError("cannot build a character vocabulary from an empty text")
        self.chars = sorted(set(text))
        self.char_to_id = {char: i for i, char in enumerate(self.chars)}

    def encode(self, text: str, *args, **kwargs) -> list[int]:
        try:
            return [self.char_to_id[char] for char in text]
        except KeyError:
            position, char = next(
                (pos, ch) for pos, ch in enumerate(text) if ch not in self.char_to_id
            )
            raise NanoGPTTitanError(
                f"character {char!r} at position {position} is not in the vocabulary "
                f"of {len(self.chars)} characters built from the training text"
            ) from None

    def decode(self, ids, *args, **kwargs) -> str:
        ids = [int(i) for i in ids]
        bad = next((i for i in ids if not 0 <= i < len(self.chars)), None)
        if bad is not None:
            raise NanoGPTTitanError(f"token id {bad} is outside the vocabulary [0, {len(self.chars)})")
        return "".join(self.chars[i] for i in ids)

    def get_vocab_size(self) -> int:
        return len(self.chars)

    def check_model_vocabulary(self, vocab_size: int, vocabulary: list[str] | None, model: str, fix: str) -> None:
        """Refuse a model whose vocabulary is not this text's: its ids would mean other characters.
        `vocabulary`, the model's characters when recorded, is compared character for character."""
        if vocabulary is not None and vocabulary != self.chars:
            only_model, only_text = sorted(set(vocabulary) - set(self.chars)), sorted(set(self.chars) - set(vocabulary))
            raise NanoGPTTitanError(
                f"{model} was trained on other characters than the text's: only the model has "
                f"{''.join(only_model)!r}, only the text has {''.join(only_text)!r}; {fix}"
            )
        if vocab_size != len(self.chars):
            raise NanoGPTTitanError(
                f"{model} has vocab_size={vocab_size} but the text's character vocabulary has "
                f"{len(self.chars)}; {fix}"
            )


@functools.lru_cache(maxsize=2)
def _tokenizer_of(text_path: Path) -> NanoGPTCharTokenizer:
    return NanoGPTCharTokenizer(load_text(str(text_path)))


def build_char_tokenizer(job_config: JobConfig) -> NanoGPTCharTokenizer:
    """The TrainSpec's tokenizer builder: the vocabulary of the run's text, built once per text."""
    return _tokenizer_of(resolve_text_path(job_config.training.dataset_path).resolve())
