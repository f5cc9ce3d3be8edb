"""The TrainSpec's tokenizer: the run's vocabulary (`nanogpt_titan.hosts.tokenizer`)."""

from torchtitan.config import JobConfig

from nanogpt_titan.data.vocabulary import Vocabulary
from nanogpt_titan.hosts.tokenizer import VocabularyTokenizer
from nanogpt_titan.hosts.v0_2.settings import run_data


class NanoGPTTokenizer(VocabularyTokenizer):
    def __init__(self, vocabulary: Vocabulary):
        super().__init__()
        self.vocabulary = vocabulary


def build_nanogpt_tokenizer(job_config: JobConfig) -> NanoGPTTokenizer:
    """The TrainSpec's tokenizer builder: the vocabulary of the run's data folder."""
    return NanoGPTTokenizer(run_data(job_config).vocabulary)
