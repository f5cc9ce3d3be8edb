"""The run's vocabulary as torchtitan's `BaseTokenizer` (the same in 0.2 and 0.3): that of its
data folder (characters from `meta.pkl`, else GPT-2's BPE), never with BOS/EOS. Each adapter
builds it its way."""

from torchtitan.components.tokenizer import BaseTokenizer

from nanogpt_titan.data.vocabulary import Vocabulary


class VocabularyTokenizer(BaseTokenizer):
    vocabulary: Vocabulary

    def encode(self, text: str, *args, **kwargs) -> list[int]:
        return self.vocabulary.encode(text)

    def decode(self, ids, *args, **kwargs) -> str:
        return self.vocabulary.decode(ids)

    def get_vocab_size(self) -> int:
        """The model's vocab_size for this vocabulary (GPT-2's 50257 padded to 50304)."""
        return self.vocabulary.model_size
