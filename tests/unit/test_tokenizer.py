import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_titan.tokenizer import NanoGPTCharTokenizer

SHAKESPEARE_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def test_vocabulary_is_sorted_set_of_the_whole_text(char_tokenizer, shakespeare_text):
    assert char_tokenizer.get_vocab_size() == 65
    assert "".join(char_tokenizer.chars) == SHAKESPEARE_CHARS
    assert char_tokenizer.encode("\n A") == [0, 1, SHAKESPEARE_CHARS.index("A")]


@given(st.text(alphabet=SHAKESPEARE_CHARS, max_size=300))
def test_round_trip_and_no_special_tokens(char_tokenizer, text):
    ids = char_tokenizer.encode(text)
    assert len(ids) == len(text)  # no BOS/EOS ever inserted
    assert all(0 <= i < 65 for i in ids)
    assert char_tokenizer.decode(ids) == text
    assert char_tokenizer.eos_id is None


@given(st.text(min_size=1, max_size=50))
def test_vocabulary_of_any_text(text):
    tokenizer = NanoGPTCharTokenizer(text)
    assert tokenizer.chars == sorted(set(text))
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_unknown_character_names_character_and_position(char_tokenizer):
    with pytest.raises(ValueError, match=r"character '€' at position 6 is not in the vocabulary"):
        char_tokenizer.encode("Romeo €")


def test_decode_rejects_ids_outside_vocabulary(char_tokenizer):
    with pytest.raises(ValueError, match=r"token id 65 is outside the vocabulary \[0, 65\)"):
        char_tokenizer.decode([1, 65])
    with pytest.raises(ValueError, match="token id -1"):
        char_tokenizer.decode([-1])


def test_empty_text_is_refused():
    with pytest.raises(ValueError, match="^cannot build a character vocabulary from an empty text$"):
        NanoGPTCharTokenizer("")


def test_builder_reads_the_configured_text(parse_config, tmp_path):
    from nanogpt_titan.tokenizer import build_char_tokenizer

    (tmp_path / "text.txt").write_text("to be or not to be\n")
    tokenizer = build_char_tokenizer(parse_config("debug_model.toml", "--training.dataset_path", str(tmp_path / "text.txt")))
    assert tokenizer.chars == sorted(set("to be or not to be\n"))


def test_a_run_builds_its_tokenizer_once(parse_config):
    """The Trainer builds the tokenizer, then the model args ask for it again: one build, one read."""
    from nanogpt_titan.tokenizer import build_char_tokenizer

    job_config = parse_config("debug_model.toml")
    assert build_char_tokenizer(job_config) is build_char_tokenizer(job_config)
