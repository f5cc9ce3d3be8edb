"""A run's randomness: the model's initial weights, the generators dropout draws from, the rules
of drawing as nanoGPT, and the generators a checkpoint holds."""

import pytest
import torch

from nanogpt_titan.data.datasets import BatchShape
from nanogpt_titan.data.windows import derived_seed
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model import NanoGPT, NanoGPTModelArgs
from nanogpt_titan.nanogpt_draws import initial_weights
from nanogpt_titan.randomness import Randomness, WithGenerators

ARGS = NanoGPTModelArgs(n_layer=1, n_head=2, n_embd=8, block_size=8, vocab_size=11)


@pytest.fixture
def as_rank(monkeypatch):
    def place(rank: int) -> None:
        monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
        monkeypatch.setattr(torch.distributed, "get_rank", lambda: rank)

    return place


def initialised(randomness: Randomness, seed_before: int = 0) -> tuple[dict, torch.Tensor]:
    """The weights the initialiser draws, and the first dropout draw after it."""
    with torch.device("meta"):
        model = NanoGPT(ARGS, randomness.model_initialiser())
    model.to_empty(device="cpu")
    torch.manual_seed(seed_before)  # as torchtitan seeds the process before building the model
    with torch.no_grad():
        model.init_weights()
    return model.state_dict(), torch.rand(4)


def test_rank_invariant_ranks_share_the_weights_and_drop_out_from_streams_of_their_own(as_rank):
    """Rank 0 drops out from where the initialisation leaves the generator, as one process does;
    rank r > 0 from the run seed's stream r."""
    plain = NanoGPT(ARGS)
    torch.manual_seed(0)
    with torch.no_grad():
        plain.init_modules()
    after_init = torch.rand(4)
    draws = {}
    for rank in (0, 1, 2):
        as_rank(rank)
        weights, draws[rank] = initialised(Randomness("rank_invariant", 5))
        assert all(torch.equal(weights[name], weight) for name, weight in plain.state_dict().items())
    assert torch.equal(draws[0], after_init)
    for rank in (1, 2):
        stream = torch.Generator().manual_seed(derived_seed(5, "dropout", rank))
        assert torch.equal(draws[rank], torch.rand(4, generator=stream))
    assert not torch.equal(draws[1], draws[2])


def test_as_nanogpt_every_rank_holds_the_masters_weights_and_continues_its_own_seed(as_rank):
    """nanoGPT's `torch.manual_seed(seed + rank)` before its model is built: DDP hands rank 0's
    weights to all; each rank's generator goes on from its own construction."""
    for rank in (0, 3):
        as_rank(rank)
        weights, draw = initialised(Randomness("nanogpt", 7), seed_before=99)
        expected, _ = initial_weights(ARGS, 7)
        assert all(torch.equal(weights[name], weight) for name, weight in expected.items())
        torch.set_rng_state(initial_weights(ARGS, 7 + rank)[1])
        assert torch.equal(draw, torch.rand(4))


def test_an_unknown_mode_is_refused_by_the_hosts_setting():
    with pytest.raises(NanoGPTTitanError, match=r"^randomness='torch' is neither 'rank_invariant' nor 'nanogpt'$"):
        Randomness("torch", setting="randomness")


@pytest.mark.parametrize(
    "dp_world_size, replicate, validation, fact",
    [
        (
            2,
            1,
            None,
            "these 2 data-parallel ranks shard the model: pass --parallelism.data_parallel_replicate_degree 2",
        ),
        (1, 1, BatchShape(8, 32), "on batches of the training batches' shape (8 windows of 64 tokens): FIX"),
    ],
)
def test_what_nanogpts_draws_cannot_follow_is_refused(dp_world_size, replicate, validation, fact):
    nanogpt = Randomness("nanogpt")
    with pytest.raises(NanoGPTTitanError, match=fact.replace("(", r"\(").replace(")", r"\)")):
        nanogpt.check(dp_world_size, replicate, BatchShape(8, 64), validation, "FIX")
    Randomness("rank_invariant").check(dp_world_size, replicate, BatchShape(8, 64), validation, "FIX")  # any layout
    nanogpt.check(2, 2, BatchShape(8, 64), BatchShape(8, 64), "FIX")  # DDP, evaluations of the training shape


def test_a_checkpoints_generators_are_those_of_when_it_was_saved(token_file):
    from nanogpt_titan.data.windows import RandomBlockTokenDataset

    dataset = WithGenerators(RandomBlockTokenDataset(token_file(range(100)), 8, 2, seed=1))
    batches = iter(dataset)
    next(batches)
    torch.manual_seed(3)
    torch.rand(5)  # the step's dropout, drawn after its batch
    state = dataset.state_dict()
    expected_next, expected_draw = next(batches), torch.rand(4)
    resumed = WithGenerators(RandomBlockTokenDataset(token_file(range(100)), 8, 2, seed=1))
    torch.manual_seed(0)
    resumed.load_state_dict(state)
    assert torch.equal(next(iter(resumed))[0]["input"], expected_next[0]["input"])
    assert torch.equal(torch.rand(4), expected_draw)
