"""`--model.flavor`: a registered size, the args themselves, or a checkpoint's folder."""

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.flavor_args import NanoGPTFlavors
from nanogpt_titan.model import FLAVORS, NanoGPTModelArgs

nanogpt_args = NanoGPTFlavors()


def test_a_registered_flavor_is_a_fresh_copy_of_the_registrys_args_in_the_hosts_class():
    class HostArgs(NanoGPTModelArgs):
        pass

    looked_up = NanoGPTFlavors(HostArgs)["mini-gpt"]
    assert type(looked_up) is HostArgs and looked_up.gpt_config() == FLAVORS["mini-gpt"].gpt_config()
    looked_up.n_layer = 99
    assert FLAVORS["mini-gpt"].n_layer == 6


def test_a_flavor_may_be_the_args_themselves():
    assert nanogpt_args["n_layer=3,n_head=2,n_embd=16,block_size=32,dropout=0.1,bias=False"] == NanoGPTModelArgs(
        n_layer=3, n_head=2, n_embd=16, block_size=32, dropout=0.1, bias=False
    )


@pytest.mark.parametrize("spec", ["n_layer=3,n_head=two", "n_layer=3,n_head"])
def test_args_that_are_not_python_literals_are_refused_naming_the_item(spec):
    with pytest.raises(
        NanoGPTTitanError,
        match=rf"^--model.flavor {spec}: 'n_head.*' is not name=value with a Python "
        r"literal$",
    ):
        nanogpt_args[spec]


def test_flavor_may_name_a_converted_checkpoint(tmp_path):
    args = NanoGPTModelArgs(n_layer=1, n_head=2, n_embd=8, block_size=16, vocab_size=65, bias=False)
    args.to_json(tmp_path / "model_args.json")
    assert nanogpt_args[str(tmp_path)] == args
    assert nanogpt_args[str(tmp_path / "model_args.json")] == args


@pytest.mark.parametrize("flavor", ["tiny", "config.toml", "outputs"])
def test_unknown_flavor_lists_the_choices(tmp_path, monkeypatch, flavor):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("[model]\n")  # an existing file that is no model_args.json
    (tmp_path / "outputs").mkdir()  # a folder with neither model_args.json nor config.json
    with pytest.raises(KeyError) as raised:  # the Mapping contract: a KeyError, which is also our error type
        nanogpt_args[flavor]
    assert isinstance(raised.value, NanoGPTTitanError)
    message = str(raised.value)
    assert f"unknown nanogpt flavor '{flavor}'" in message and "'debugmodel', 'gpt2'" in message
    assert "model_args.json" in message and "Hugging Face GPT-2 folder" in message
    assert nanogpt_args.get(flavor) is None


def test_get_returns_a_copy_too():
    copy = nanogpt_args.get("debugmodel")
    copy.n_layer = 99
    assert nanogpt_args.get("debugmodel").n_layer == 2 and nanogpt_args["debugmodel"].n_layer == 2


def test_flavor_may_name_a_hugging_face_folder(tmp_path):
    (tmp_path / "config.json").write_text(
        '{"n_layer": 2, "n_head": 4, "n_embd": 32, "n_positions": 64, "vocab_size": 65, "resid_pdrop": 0.1}'
    )
    assert nanogpt_args[str(tmp_path)] == NanoGPTModelArgs(
        n_layer=2, n_head=4, n_embd=32, block_size=64, vocab_size=65, dropout=0.1, bias=True
    )
