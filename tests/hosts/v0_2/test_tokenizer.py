"""The run's vocabulary as torchtitan 0.2's tokenizer: the data's, never with BOS/EOS."""

from hypothesis import given
from hypothesis import strategies as st

from nanogpt_titan.hosts.v0_2.tokenizer import NanoGPTTokenizer, build_nanogpt_tokenizer


@given(data=st.data())
def test_round_trip_and_no_special_tokens(shakespeare, data):
    text = data.draw(st.text(alphabet="".join(shakespeare.vocabulary.chars), max_size=300))
    tokenizer = NanoGPTTokenizer(shakespeare.vocabulary)
    ids = tokenizer.encode(text)
    assert len(ids) == len(text)  # no BOS/EOS ever inserted
    assert all(0 <= i < 65 for i in ids)
    assert tokenizer.decode(ids) == text
    assert tokenizer.eos_id is None and tokenizer.get_vocab_size() == 65


def test_the_run_builds_the_vocabulary_of_its_data(parse_config, tmp_path):
    (tmp_path / "text.txt").write_text("to be or not to be\n")
    tokenizer = build_nanogpt_tokenizer(
        parse_config("debug_model.toml", "--training.dataset_path", str(tmp_path / "text.txt"))
    )
    assert tokenizer.vocabulary.chars == tuple(sorted(set("to be or not to be\n")))
