"""The run's vocabulary as a torchtitan `BaseTokenizer`: that of its data folder (characters
from `meta.pkl`, else GPT-2's BPE), never with BOS/EOS."""

from torchtitan.components.tokenizer import BaseTokenizer
from torchtitan.config import JobConfig

from nanogpt_titan.data.vocabulary import Vocabulary
from nanogpt_titan.hosts.v0_2.dataloader import run_data


class NanoGPTTokenizer(BaseTokenizer):
    def __init__(self, vocabulary: Vocabulary):
        super().__init__()
        self.vocabulary = vocabulary

    def encode(self, text: str, *args, **kwargs) -> list[int]:
        return self.vocabulary.encode(text)

    def decode(self, ids, *args, **kwargs) -> str:
        return self.vocabulary.decode(ids)

    def get_vocab_size(self) -> int:
        """The model's vocab_size for this vocabulary (GPT-2's 50257 padded to 50304)."""
        return self.vocabulary.model_size


def build_nanogpt_tokenizer(job_config: JobConfig) -> NanoGPTTokenizer:
    """The TrainSpec's tokenizer builder: the vocabulary of the run's data folder."""
    return NanoGPTTokenizer(run_data(job_config).vocabulary)
