"""The dataloader of the installed Configurable release (0.3.0: torchdata's; main: its grain
pipeline) over the run's batches: the layout over ranks, and a resume that draws on exactly."""

import pytest
import torch

from nanogpt_titan.hosts import trainer_class
from nanogpt_titan.randomness import Randomness
from nanogpt_titan.run import NanoGPTRun

# What each release hands its dataloader beside its Config (each takes the names it knows).
BUILD = {"tokenizer": None, "seq_len": 64, "local_batch_size": 4, "max_context_length": 64, "num_tokens_per_batch": 256}


def built(dp_world_size: int, dp_rank: int, global_batch: int, mode: str = "rank_invariant"):
    """The release's dataloader for this rank, from a trainer config of the debug recipe."""
    from dataclasses import replace

    from nanogpt_titan.data.datasets import BatchSettings
    from nanogpt_titan.hosts.configurable.recipes import toml_settings, trainer_config

    trainer = trainer_class()
    settings = {
        **toml_settings("debug_model.toml"),
        "training.local_batch_size": 4,
        "training.global_batch_size": global_batch,
        "debug.randomness": mode,
        "validation.local_batch_size": 4,  # nanoGPT evaluates with the training batches' shape
        "parallelism.data_parallel_replicate_degree": dp_world_size,
    }  # nanoGPT's draws follow its DDP
    config = trainer_config(settings, trainer)
    assert config.dataloader.data.batches == BatchSettings(4, 64, global_batch)
    dataloader = replace(config.dataloader)
    dataloader.run = NanoGPTRun(Randomness(mode, 1337))
    return dataloader.build(dp_world_size=dp_world_size, dp_rank=dp_rank, **BUILD)


def inputs(loader, count: int) -> list[torch.Tensor]:
    batches = iter(loader)
    return [next(batches)[0]["input"] for _ in range(count)]


@pytest.mark.parametrize("ranks, global_batch", [(2, 16), (2, 32)])
def test_rank_r_micro_batch_a_is_one_process_micro_batch_r_times_a_plus_a(ranks, global_batch):
    per_rank = global_batch // 4 // ranks  # micro-batches per rank and step
    one_process = inputs(built(1, 0, global_batch), 2 * ranks * per_rank)
    for rank in range(ranks):
        batches = inputs(built(ranks, rank, global_batch), 2 * per_rank)
        for step in range(2):
            for a in range(per_rank):
                expected = one_process[step * ranks * per_rank + rank * per_rank + a]
                assert torch.equal(batches[step * per_rank + a], expected)


@pytest.mark.parametrize("mode", ["rank_invariant", "nanogpt"])
def test_a_loaded_state_draws_on_exactly_and_names_its_rank(mode):
    """Saved after three batches, as a checkpoint is; the process's generator is the Trainer's
    to checkpoint (drawing as nanoGPT, the batches come from it)."""
    torch.manual_seed(5)
    uninterrupted = built(2, 1, 16, mode)
    batches = iter(uninterrupted)
    for _ in range(3):
        next(batches)
    state, generator = uninterrupted.state_dict(), torch.get_rng_state()
    expected = [next(batches)[0]["input"] for _ in range(4)]
    assert "dp_rank_1" in state  # the run folder counts the ranks that saved their data streams
    resumed = built(2, 1, 16, mode)
    resumed.load_state_dict(state)
    torch.set_rng_state(generator)
    assert all(torch.equal(a, b) for a, b in zip(expected, inputs(resumed, 4)))
