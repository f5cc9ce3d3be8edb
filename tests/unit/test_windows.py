"""nanoGPT's random windows, in numbered streams that resume exactly (`nanogpt_titan.data.windows`)."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_titan.data.windows import RandomBlockTokenDataset
from nanogpt_titan.errors import NanoGPTTitanError


def take(iterable, n):
    iterator = iter(iterable)
    return [next(iterator) for _ in range(n)]


@pytest.mark.parametrize("setting", ["training.seq_len", "validation.seq_len", "--block-size"])
def test_split_without_a_window_and_its_target_names_the_file_and_the_setting_to_lower(token_file, setting):
    tokens = token_file(range(8))
    with pytest.raises(NanoGPTTitanError) as raised:
        RandomBlockTokenDataset(tokens, seq_len=8, batch_size=1, seed=0, setting=setting)
    assert str(raised.value) == (
        f"{tokens.path} holds 8 tokens, no window of {setting}=8 plus its shifted target; "
        f"lower {setting} or use a longer text"
    )
    RandomBlockTokenDataset(token_file(range(9)), seq_len=8, batch_size=1, seed=0)  # one window and its target fit


@given(
    n_tokens=st.integers(2, 400), seq_len=st.integers(1, 64), batch_size=st.integers(1, 8), seed=st.integers(0, 2**31)
)
def test_windows_are_in_bounds_and_targets_shift_by_one(token_file, n_tokens, seq_len, batch_size, seed):
    seq_len = min(seq_len, n_tokens - 1)
    values = torch.arange(n_tokens) * 7  # distinct values: a window identifies its start
    for inputs, labels in take(RandomBlockTokenDataset(token_file(values), seq_len, batch_size, seed), 3):
        x = inputs["input"]
        assert x.shape == labels.shape == (batch_size, seq_len) and x.dtype == torch.int64
        starts = x[:, 0] // 7
        assert bool(((0 <= starts) & (starts < n_tokens - seq_len)).all())
        expected = values[starts[:, None] + torch.arange(seq_len + 1)]
        assert torch.equal(x, expected[:, :-1]) and torch.equal(labels, expected[:, 1:])


def test_every_window_start_is_reachable_including_the_last(token_file):
    batches = take(RandomBlockTokenDataset(token_file(range(10)), 6, batch_size=16, seed=0), 8)  # starts 0..3
    starts = torch.cat([inputs["input"][:, 0] for inputs, _ in batches])
    assert set(starts.tolist()) == {0, 1, 2, 3}


@given(seed=st.integers(0, 2**31))
def test_same_seed_same_stream_other_seed_other_stream(token_file, seed):
    tokens = token_file(range(5000))
    first, again, other = (
        torch.stack([inputs["input"] for inputs, _ in take(RandomBlockTokenDataset(tokens, 8, 4, s), 3)])
        for s in (seed, seed, seed + 1)
    )
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@given(seed=st.integers(0, 2**31))
def test_the_streams_of_a_run_differ_and_stream_0_is_the_run_seeds(token_file, seed):
    tokens = token_file(range(5000))
    first_batches = [inputs["input"] for inputs, _ in take(RandomBlockTokenDataset(tokens, 8, 4, seed, range(4)), 4)]
    nanogpt_starts = torch.randint(5000 - 8, (4,), generator=torch.Generator().manual_seed(seed))
    assert torch.equal(first_batches[0][:, 0], nanogpt_starts)
    assert len({tuple(batch[:, 0].tolist()) for batch in first_batches}) == 4
    other_seed = [inputs["input"] for inputs, _ in take(RandomBlockTokenDataset(tokens, 8, 4, seed + 1, range(4)), 4)]
    assert not any(torch.equal(mine, other) for mine, other in zip(first_batches[1:], other_seed[1:]))


@given(consumed=st.integers(0, 6), resumed=st.integers(1, 6))
def test_resume_continues_the_identical_stream(token_file, consumed, resumed):
    """From the state a checkpoint holds."""
    tokens = token_file(range(3000))

    def dataset():
        return RandomBlockTokenDataset(tokens, 16, 4, seed=1337, streams=range(3))

    uninterrupted = take(dataset(), consumed + resumed)
    interrupted = dataset()
    iterator = iter(interrupted)
    for _ in range(consumed):
        next(iterator)
    state = interrupted.state_dict()
    restarted = dataset()
    restarted.load_state_dict(state)
    for (expected, _), (got, _) in zip(uninterrupted[consumed:], take(restarted, resumed)):
        assert torch.equal(expected["input"], got["input"])


def test_resuming_with_another_number_of_micro_batches_is_named(token_file):
    tokens = token_file(range(3000))
    saved = RandomBlockTokenDataset(tokens, 16, 4, seed=3, streams=range(2)).state_dict()
    with pytest.raises(NanoGPTTitanError) as error:
        RandomBlockTokenDataset(tokens, 16, 4, seed=3, streams=range(4)).load_state_dict(saved)
    assert str(error.value) == (
        "the checkpoint holds 2 window streams per rank and this run draws from 4: resume with the saved batch "
        "settings, or start a new run from its weights (--checkpoint.initial_load_path)"
    )
