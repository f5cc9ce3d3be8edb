"""The run's vocabulary on torchtitan's Configurable API: the data folder's, as its tokenizer."""

from dataclasses import dataclass
from typing import Annotated

import tyro
from torchtitan.components.tokenizer import BaseTokenizer

from nanogpt_titan.hosts.data import DataPlan
from nanogpt_titan.hosts.tokenizer import VocabularyTokenizer


class NanoGPTTokenizer(VocabularyTokenizer):
    """The data folder's vocabulary (`nanogpt_titan.hosts.tokenizer`)."""

    @dataclass(kw_only=True, slots=True)
    class Config(BaseTokenizer.Config):
        data: Annotated[DataPlan | None, tyro.conf.Suppress] = None  # handed over by the trainer's config

    def __init__(self, config: Config, *, tokenizer_path: str | None = None):
        super().__init__()
        self.vocabulary = config.data.folder().vocabulary
