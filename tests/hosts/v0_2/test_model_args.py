"""The model's args on torchtitan 0.2: completed from the run's settings before the model is built."""

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.model_args import NanoGPTTrainArgs


def test_update_from_config_takes_vocab_from_tokenizer(parse_config):
    args = NanoGPTTrainArgs(n_layer=1, n_head=1, n_embd=8, block_size=64)
    args.update_from_config(parse_config("debug_model.toml"))
    assert args.vocab_size == 65


@pytest.mark.parametrize("setting", ["training.seq_len", "validation.seq_len"])
def test_update_from_config_refuses_context_beyond_block(parse_config, setting):
    args = NanoGPTTrainArgs(n_layer=1, n_head=1, n_embd=8, block_size=64)
    with pytest.raises(ValueError, match=rf"{setting}=65 exceeds the model's block_size=64"):
        args.update_from_config(parse_config("debug_model.toml", f"--{setting}", "65"))


def test_checkpoint_vocabulary_must_match_the_tokenizer(parse_config):
    args = NanoGPTTrainArgs(n_layer=1, n_head=1, n_embd=8, block_size=64, vocab_size=70)
    with pytest.raises(
        NanoGPTTitanError,
        match="the model has vocab_size=70 but the data's character vocabulary has 65; train on the data",
    ):
        args.update_from_config(parse_config("debug_model.toml"))


def test_update_from_config_names_a_missing_initial_load_path(parse_config, tmp_path):
    job_config = parse_config(
        "debug_model.toml", "--checkpoint.enable", "--checkpoint.initial_load_path", str(tmp_path / "nope")
    )
    with pytest.raises(NanoGPTTitanError, match="checkpoint.initial_load_path=.*nope' is not a folder"):
        NanoGPTTrainArgs(n_layer=1, n_head=1, n_embd=8, block_size=64).update_from_config(job_config)
