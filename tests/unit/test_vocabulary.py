"""What token ids mean: nanoGPT's character vocabulary (meta.pkl), or GPT-2's BPE."""

import json
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_titan.data.vocabulary import (
    CharVocabulary,
    GPT2Vocabulary,
    read_meta,
    vocabulary_from_json,
)
from nanogpt_titan.errors import NanoGPTTitanError

SHAKESPEARE_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def of_text(text: str) -> CharVocabulary:
    return CharVocabulary(tuple(sorted(set(text))))


def test_tiny_shakespeares_vocabulary_is_the_sorted_set_of_the_whole_text(shakespeare, shakespeare_text):
    assert shakespeare.vocabulary == of_text(shakespeare_text)
    assert "".join(shakespeare.vocabulary.chars) == SHAKESPEARE_CHARS
    assert shakespeare.vocabulary.encode("\n A") == [0, 1, SHAKESPEARE_CHARS.index("A")]


@given(st.text(min_size=1, max_size=50))
def test_any_texts_characters_round_trip(text):
    assert of_text(text).decode(of_text(text).encode(text)) == text


def test_unknown_character_names_character_and_position(shakespeare):
    with pytest.raises(
        NanoGPTTitanError, match=r"character '€' at position 6 is not in the vocabulary of 65 characters"
    ):
        shakespeare.vocabulary.encode("Romeo €")


def test_decode_rejects_ids_outside_vocabulary(shakespeare):
    with pytest.raises(NanoGPTTitanError, match=r"token id 65 is outside the vocabulary \[0, 65\)"):
        shakespeare.vocabulary.decode([1, 65])
    with pytest.raises(NanoGPTTitanError, match="token id -1"):
        shakespeare.vocabulary.decode([-1])


def test_gpt2_bpe_pads_the_models_vocabulary_as_nanogpt_and_takes_openais_50257(shakespeare):
    assert (GPT2Vocabulary().model_size, GPT2Vocabulary().id_limit) == (50304, 50257)
    GPT2Vocabulary().check_model(50257, None, "gpt2", "fix")  # OpenAI's weights
    with pytest.raises(NanoGPTTitanError, match="^m has vocab_size=65, fewer than GPT-2's 50257 BPE tokens; fix$"):
        GPT2Vocabulary().check_model(65, None, "m", "fix")
    with pytest.raises(NanoGPTTitanError, match="^m was trained on characters, this data is GPT-2 BPE tokens; fix$"):
        GPT2Vocabulary().check_model(50304, shakespeare.vocabulary, "m", "fix")
    with pytest.raises(NanoGPTTitanError, match="^m was trained on GPT-2 BPE tokens, this data is characters; fix$"):
        shakespeare.vocabulary.check_model(65, GPT2Vocabulary(), "m", "fix")


def test_gpt2_decodes_gpt2_tokens_only(monkeypatch):
    from nanogpt_titan.data import vocabulary

    monkeypatch.setattr(vocabulary, "gpt2_encoding", lambda: type("Encoding", (), {"decode": lambda self, ids: ids})())
    assert GPT2Vocabulary().decode([0, 50256]) == [0, 50256]
    with pytest.raises(
        NanoGPTTitanError, match=r"^token id 50257 is no GPT-2 token \(ids 50257..50303 are the padding"
    ):
        GPT2Vocabulary().decode([5, 50257])


def test_a_model_of_other_characters_is_refused_naming_them(shakespeare):
    other = of_text(SHAKESPEARE_CHARS.replace("$", "") + "€")
    with pytest.raises(
        NanoGPTTitanError,
        match=r"^m was trained on other characters than the data's: only the model has "
        r"'€', only the data has '\$'; fix$",
    ):
        shakespeare.vocabulary.check_model(65, other, "m", "fix")
    with pytest.raises(
        NanoGPTTitanError, match="^m has vocab_size=64 but the data's character vocabulary has 65; fix$"
    ):
        shakespeare.vocabulary.check_model(64, None, "m", "fix")


@pytest.mark.parametrize("vocabulary", [CharVocabulary(("a", "b", "\n")), GPT2Vocabulary()], ids=["char", "gpt2"])
def test_vocabulary_json_round_trips(vocabulary, tmp_path):
    path = tmp_path / "vocabulary.json"
    path.write_text(json.dumps(vocabulary.to_json()))
    assert vocabulary_from_json(json.loads(path.read_text()), path) == vocabulary


def test_a_vocabulary_json_of_something_else_is_named(tmp_path):
    with pytest.raises(NanoGPTTitanError, match="vocabulary.json is neither a list of single characters nor"):
        vocabulary_from_json(["ab"], tmp_path / "vocabulary.json")


def test_meta_pkl_is_read_as_plain_data_and_anything_else_refused_unexecuted(tmp_path):
    meta = tmp_path / "meta.pkl"
    meta.write_bytes(pickle.dumps(CharVocabulary(("a", "b")).to_meta()))
    assert read_meta(meta) == CharVocabulary(("a", "b"))

    class Payload:
        def __reduce__(self):
            return (print, ("executed",))

    meta.write_bytes(pickle.dumps({"itos": {0: "a"}, "hook": Payload()}))
    with pytest.raises(NanoGPTTitanError, match=r"meta.pkl is not a nanoGPT meta.pkl \(plain data.*builtins.print"):
        read_meta(meta)
    meta.write_bytes(pickle.dumps({"itos": {0: "ab"}}))
    with pytest.raises(NanoGPTTitanError, match="maps ids to something other than single characters"):
        read_meta(meta)


def test_gpt2_encoding_without_tiktoken_or_offline_says_how_to_get_it(monkeypatch):
    import sys

    import tiktoken

    from nanogpt_titan.data import vocabulary

    monkeypatch.setitem(sys.modules, "tiktoken", None)
    with pytest.raises(NanoGPTTitanError, match=r"^GPT-2 BPE data needs tiktoken: pip install 'nanogpt-titan\[bpe\]'$"):
        vocabulary.gpt2_encoding()
    monkeypatch.setitem(sys.modules, "tiktoken", tiktoken)

    def offline(name):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(tiktoken, "get_encoding", offline)
    with pytest.raises(
        NanoGPTTitanError,
        match=r"^tiktoken could not load GPT-2's BPE files \(ConnectionError\): run once "
        r"where openaipublic.blob.core.windows.net is reachable, or point "
        r"TIKTOKEN_CACHE_DIR at a folder",
    ):
        vocabulary.gpt2_encoding()
