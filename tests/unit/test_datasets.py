import hashlib
import os
import re
from pathlib import Path

import pytest
import requests
import torch
from hypothesis import given
from hypothesis import strategies as st
from torchtitan.components.dataloader import ParallelAwareDataloader

from nanogpt_titan import datasets
from nanogpt_titan.datasets import (
    RandomBlockTokenDataset,
    load_split_tokens,
    split_tokens,
)
from nanogpt_titan.errors import NanoGPTTitanError


def take(iterable, n):
    iterator = iter(iterable)
    return [next(iterator) for _ in range(n)]


def test_real_split_sizes(char_tokenizer, shakespeare_text):
    tokens = torch.tensor(char_tokenizer.encode(shakespeare_text))
    assert len(tokens) == 1_115_394
    train, val = split_tokens(tokens, "train"), split_tokens(tokens, "val")
    assert (len(train), len(val)) == (1_003_854, 111_540)
    assert torch.equal(torch.cat([train, val]), tokens)


def test_splits_come_from_the_configured_text(parse_config, tmp_path):
    from nanogpt_titan.tokenizer import build_char_tokenizer

    text = "abcdefghij" * 10
    (tmp_path / "text.txt").write_text(text)
    job_config = parse_config("debug_model.toml", "--training.dataset_path", str(tmp_path / "text.txt"))
    tokenizer = build_char_tokenizer(job_config)
    val = load_split_tokens(job_config, tokenizer, "shakespeare_char_validation")
    assert tokenizer.decode(val.tolist()) == text[90:]


def test_unknown_split_is_named():
    with pytest.raises(NanoGPTTitanError, match="'test'"):
        split_tokens(torch.arange(10), "test")


@pytest.mark.parametrize("setting", ["training.seq_len", "validation.seq_len", "--block-size"])
def test_split_without_a_window_and_its_target_names_the_setting_to_lower(setting):
    with pytest.raises(NanoGPTTitanError) as raised:
        RandomBlockTokenDataset(torch.arange(8), seq_len=8, batch_size=1, seed=0, setting=setting)
    assert "8 tokens" in str(raised.value) and f"{setting}=8" in str(raised.value)
    assert f"lower {setting}" in str(raised.value)
    RandomBlockTokenDataset(torch.arange(9), seq_len=8, batch_size=1, seed=0)  # one window and its target fit


def test_validation_dataset_is_the_last_tenth(parse_config, char_tokenizer, shakespeare_text):
    job_config = parse_config("debug_model.toml")
    tokens = torch.tensor(char_tokenizer.encode(shakespeare_text))
    val = load_split_tokens(job_config, char_tokenizer, "shakespeare_char_validation")
    train = load_split_tokens(job_config, char_tokenizer, "shakespeare_char_train")
    assert torch.equal(val, tokens[1_003_854:]) and torch.equal(train, tokens[:1_003_854])


@given(
    n_tokens=st.integers(2, 400),
    seq_len=st.integers(1, 64),
    batch_size=st.integers(1, 8),
    seed=st.integers(0, 2**31),
)
def test_windows_are_in_bounds_and_targets_shift_by_one(n_tokens, seq_len, batch_size, seed):
    seq_len = min(seq_len, n_tokens - 1)
    tokens = torch.arange(n_tokens) * 7  # distinct values: a window identifies its start
    for inputs, labels in take(RandomBlockTokenDataset(tokens, seq_len, batch_size, seed), 3):
        x = inputs["input"]
        assert x.shape == labels.shape == (batch_size, seq_len)
        starts = x[:, 0] // 7
        assert bool(((0 <= starts) & (starts < n_tokens - seq_len)).all())
        expected = tokens[starts[:, None] + torch.arange(seq_len + 1)]
        assert torch.equal(x, expected[:, :-1]) and torch.equal(labels, expected[:, 1:])


def test_every_window_start_is_reachable_including_the_last():
    tokens, seq_len = torch.arange(10), 6  # starts 0..3
    batches = take(RandomBlockTokenDataset(tokens, seq_len, batch_size=16, seed=0), 8)
    starts = torch.cat([inputs["input"][:, 0] for inputs, _ in batches])
    assert set(starts.tolist()) == {0, 1, 2, 3}


@given(seed=st.integers(0, 2**31))
def test_same_seed_same_stream_other_seed_other_stream(seed):
    tokens = torch.arange(5000)
    first, again, other = (
        torch.stack([inputs["input"] for inputs, _ in take(RandomBlockTokenDataset(tokens, 8, 4, s), 3)])
        for s in (seed, seed, seed + 1)
    )
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@given(seed=st.integers(0, 2**31))
def test_the_streams_of_a_run_differ_and_stream_0_is_the_run_seeds(seed):
    tokens = torch.arange(5000)
    first_batches = [inputs["input"] for inputs, _ in take(RandomBlockTokenDataset(tokens, 8, 4, seed, range(4)), 4)]
    nanogpt_starts = torch.randint(5000 - 8, (4,), generator=torch.Generator().manual_seed(seed))
    assert torch.equal(first_batches[0][:, 0], nanogpt_starts)
    assert len({tuple(batch[:, 0].tolist()) for batch in first_batches}) == 4
    other_seed = [inputs["input"] for inputs, _ in take(RandomBlockTokenDataset(tokens, 8, 4, seed + 1, range(4)), 4)]
    assert not any(torch.equal(mine, other) for mine, other in zip(first_batches[1:], other_seed[1:]))


@given(consumed=st.integers(0, 6), resumed=st.integers(1, 6))
def test_resume_continues_the_identical_stream(consumed, resumed):
    """Through torchtitan's stateful dataloader, as a checkpoint does it."""

    def loader():
        dataset = RandomBlockTokenDataset(torch.arange(3000), 16, 4, seed=1337, streams=range(3))
        return ParallelAwareDataloader(dataset, dp_rank=0, dp_world_size=1, batch_size=None)

    uninterrupted = take(loader(), consumed + resumed)
    interrupted = loader()
    iterator = iter(interrupted)
    for _ in range(consumed):
        next(iterator)
    state = interrupted.state_dict()
    restarted = loader()
    restarted.load_state_dict(state)
    for (expected, _), (got, _) in zip(uninterrupted[consumed:], take(restarted, resumed)):
        assert torch.equal(expected["input"], got["input"])


def test_a_checkpoint_of_one_stream_from_version_0_1_resumes():
    old = RandomBlockTokenDataset(torch.arange(3000), 16, 4, seed=3)
    next(iter(old))
    state = {"generator_state": old.generators[0].get_state(), "torch_rng_state": torch.get_rng_state()}
    resumed = RandomBlockTokenDataset(torch.arange(3000), 16, 4, seed=3)
    resumed.load_state_dict(state)
    assert torch.equal(next(iter(resumed))[0]["input"], next(iter(old))[0]["input"])


def test_resuming_with_another_number_of_micro_batches_is_named():
    saved = RandomBlockTokenDataset(torch.arange(3000), 16, 4, seed=3, streams=range(2)).state_dict()
    with pytest.raises(NanoGPTTitanError) as error:
        RandomBlockTokenDataset(torch.arange(3000), 16, 4, seed=3, streams=range(4)).load_state_dict(saved)
    assert str(error.value) == (
        "the checkpoint holds 2 window streams per rank and this run draws from 4: resume with the saved "
        "training.global_batch_size and training.local_batch_size, or start a new run from its weights "
        "(--checkpoint.initial_load_path)"
    )


@pytest.mark.parametrize("overrides, seed", [([], 1337), (["--debug.seed", "7"], 7)])
def test_the_loader_draws_the_stream_of_the_run_seed(parse_config, char_tokenizer, overrides, seed):
    job_config = parse_config("debug_model.toml", *overrides)
    train = load_split_tokens(job_config, char_tokenizer, "shakespeare_char_train")
    loader = datasets.build_shakespeare_char_dataloader(1, 0, char_tokenizer, job_config)
    inputs, targets = next(iter(loader))
    expected_inputs, expected_targets = next(iter(RandomBlockTokenDataset(train, 64, 8, seed=seed)))
    assert torch.equal(inputs["input"], expected_inputs["input"]) and torch.equal(targets, expected_targets)
    assert "dp_rank_0" in loader.state_dict()


def test_unset_seed_is_nanogpts(parse_config, char_tokenizer, monkeypatch):
    job_config = parse_config("debug_model.toml")
    monkeypatch.setattr(job_config.debug, "seed", None)
    loader = datasets.build_shakespeare_char_dataloader(1, 0, char_tokenizer, job_config)
    train = load_split_tokens(job_config, char_tokenizer, "shakespeare_char_train")
    expected, _ = next(iter(RandomBlockTokenDataset(train, 64, 8, seed=1337)))
    assert torch.equal(next(iter(loader))[0]["input"], expected["input"])


def test_unknown_dataset_name_lists_the_known_ones(parse_config, char_tokenizer):
    job_config = parse_config("debug_model.toml", "--training.dataset", "c4_test")
    with pytest.raises(ValueError, match=r"Unknown dataset 'c4_test'.*shakespeare_char_train"):
        datasets.build_shakespeare_char_dataloader(1, 0, char_tokenizer, job_config)


# --- where the text comes from -------------------------------------------------------------


def test_cache_is_under_xdg_cache_home_else_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.cache_path() == tmp_path / "xdg" / "nanogpt_titan" / "tinyshakespeare" / "input.txt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert datasets.cache_path() == tmp_path / "home" / ".cache" / "nanogpt_titan" / "tinyshakespeare" / "input.txt"


@pytest.fixture
def no_local_text(monkeypatch, tmp_path):
    """No env var, an empty cache under tmp_path: the only source left is the network."""
    monkeypatch.delenv(datasets.DATA_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return datasets.cache_path()


class FakeResponse:
    def __init__(self, content: bytes):
        self.content = content

    def raise_for_status(self):
        pass


def test_explicit_path_wins_over_env_var(tmp_path, monkeypatch):
    explicit, from_env = tmp_path / "a.txt", tmp_path / "b.txt"
    explicit.write_text("ab")
    from_env.write_text("cd")
    monkeypatch.setenv(datasets.DATA_ENV_VAR, str(from_env))
    assert datasets.resolve_text_path(str(explicit)) == explicit
    assert datasets.resolve_text_path(None) == from_env


def test_missing_explicit_path_names_the_setting(tmp_path):
    with pytest.raises(NanoGPTTitanError, match=r"training.dataset_path points at .*nope.txt, which is not a file"):
        datasets.resolve_text_path(str(tmp_path / "nope.txt"))


@pytest.mark.parametrize("setting", ["--training.dataset_path", "--data"])
def test_offline_error_names_the_setting_that_points_at_a_copy_and_leaves_nothing(no_local_text, monkeypatch, setting):
    def offline(*args, **kwargs):
        assert kwargs.get("timeout"), "downloads must time out"
        raise requests.ConnectionError("no network")

    monkeypatch.setattr(datasets.requests, "get", offline)
    hint = f"Offline? Point NANOGPT_TITAN_DATA=/path/to/input.txt or pass {setting} /path/to/input.txt at a local copy."
    with pytest.raises(NanoGPTTitanError, match=f"^could not download {datasets.SHAKESPEARE_URL} \\(ConnectionError\\). {re.escape(hint)}$"):
        datasets.resolve_text_path(None, setting)
    assert not no_local_text.parent.exists() or not any(no_local_text.parent.iterdir())


def test_corrupt_download_is_not_written(no_local_text, monkeypatch):
    monkeypatch.setattr(datasets.requests, "get", lambda *a, **k: FakeResponse(b"not shakespeare"))
    with pytest.raises(NanoGPTTitanError, match="sha256"):
        datasets.resolve_text_path(None)
    assert not any(no_local_text.parent.iterdir())


def test_download_is_cached_and_read_once(no_local_text, monkeypatch, shakespeare_text):
    content = shakespeare_text.encode()
    assert hashlib.sha256(content).hexdigest() == datasets.SHAKESPEARE_SHA256
    calls = []
    monkeypatch.setattr(
        datasets.requests, "get", lambda url, **k: calls.append(url) or FakeResponse(content)
    )
    replaced, rename = [], os.replace
    monkeypatch.setattr(datasets.os, "replace", lambda src, dst: replaced.append(Path(src).parent) or rename(src, dst))
    no_local_text.parent.mkdir(parents=True)  # the cache folder may exist already
    assert datasets.resolve_text_path(None) == no_local_text
    assert datasets.resolve_text_path(None) == no_local_text
    assert calls == [datasets.SHAKESPEARE_URL]
    assert replaced == [no_local_text.parent]  # written beside the destination, then renamed
    assert no_local_text.read_bytes() == content
    assert [p.name for p in no_local_text.parent.iterdir()] == ["input.txt"]


@pytest.mark.parametrize("content, fact", [(b"", "is empty"), (b"caf\xe9\n", "is not UTF-8 text")])
def test_an_empty_or_non_utf8_text_is_named(tmp_path, content, fact):
    path = tmp_path / "text.txt"
    path.write_bytes(content)
    with pytest.raises(NanoGPTTitanError, match=f"{re.escape(str(path))} {fact}"):
        datasets.load_text(str(path))


def test_the_cli_names_its_own_option_for_a_missing_text(tmp_path):
    with pytest.raises(NanoGPTTitanError, match="^--data points at"):
        datasets.load_text(str(tmp_path / "nope.txt"), "--data")


def micro_batches(loader, count: int) -> list[torch.Tensor]:
    return [inputs["input"] for inputs, _ in take(loader, count)]


@pytest.mark.parametrize("ranks, global_batch", [(2, 16), (2, 32), (4, 32)])
def test_rank_r_micro_batch_a_is_one_process_micro_batch_r_times_a_plus_a(parse_config, char_tokenizer, ranks,
                                                                          global_batch):
    """Over two steps: the data layout that makes N ranks train as one accumulating process."""
    job_config = parse_config("debug_model.toml", "--training.local_batch_size", "4",
                              "--training.global_batch_size", str(global_batch))
    per_rank = global_batch // 4 // ranks  # micro-batches per rank and step
    one_process = micro_batches(datasets.build_shakespeare_char_dataloader(1, 0, char_tokenizer, job_config),
                                2 * ranks * per_rank)
    for rank in range(ranks):
        loader = datasets.build_shakespeare_char_dataloader(ranks, rank, char_tokenizer, job_config)
        for step in range(2):
            for a, batch in enumerate(micro_batches(loader, per_rank)):
                assert torch.equal(batch, one_process[step * ranks * per_rank + rank * per_rank + a])


@pytest.mark.parametrize("global_batch, hint", [(24, "; --training.local_batch_size 12 keeps this global batch"),
                                                 (25, "")])
def test_a_global_batch_the_ranks_cannot_split_is_named(parse_config, char_tokenizer, global_batch, hint):
    job_config = parse_config("debug_model.toml", "--training.global_batch_size", str(global_batch))
    with pytest.raises(NanoGPTTitanError) as error:
        datasets.build_shakespeare_char_dataloader(2, 0, char_tokenizer, job_config)
    assert str(error.value) == (f"training.global_batch_size={global_batch} is not a multiple of "
                                f"training.local_batch_size=8 times the 2 data-parallel ranks{hint}")


def test_a_zero_global_batch_is_named(parse_config, char_tokenizer):
    job_config = parse_config("debug_model.toml", "--training.global_batch_size", "0")
    with pytest.raises(NanoGPTTitanError) as error:
        datasets.build_shakespeare_char_dataloader(1, 0, char_tokenizer, job_config)
    assert str(error.value) == ("training.global_batch_size=0: set a multiple of training.local_batch_size times the "
                                "data-parallel ranks, or -1 for one micro-batch per rank")


def test_each_rank_drops_out_from_its_own_stream_of_the_run_seed(parse_config, char_tokenizer):
    def dropout_draw(rank, seed="1337"):
        job_config = parse_config("debug_model.toml", "--training.global_batch_size", "24", "--debug.seed", seed)
        loader = datasets.build_shakespeare_char_dataloader(3, rank, char_tokenizer, job_config)
        assert loader.state_dict()["world_size"] == 3
        torch.manual_seed(0)  # the global generator as the model's initialisation leaves it
        next(iter(loader))
        return torch.rand(8)

    torch.manual_seed(0)
    after_initialisation = torch.rand(8)
    rank0, rank1, rank2 = (dropout_draw(rank) for rank in range(3))
    assert torch.equal(rank0, after_initialisation)
    assert not any(torch.equal(a, b) for a, b in ((rank1, rank0), (rank2, rank0), (rank1, rank2)))
    assert not torch.equal(dropout_draw(1, seed="7"), rank1)


def test_the_loader_checks_the_run_folder_before_anything_is_built(parse_config, char_tokenizer, tmp_path):
    (tmp_path / "checkpoint").mkdir()  # no complete step: torchtitan would ignore the initial load
    job_config = parse_config("debug_model.toml", "--job.dump_folder", str(tmp_path),
                              "--checkpoint.initial_load_path", str(tmp_path))
    with pytest.raises(NanoGPTTitanError, match="holds no complete checkpoint"):
        datasets.build_shakespeare_char_dataloader(1, 0, char_tokenizer, job_config)


def test_rank_0_drops_out_where_initialisation_left_off_and_others_reseed_unless_resumed():
    def dropout_draw(dropout_seed, state=None):
        dataset = RandomBlockTokenDataset(torch.arange(100), 8, 2, seed=1, dropout_seed=dropout_seed)
        torch.manual_seed(0)  # the global generator as the model's initialisation leaves it
        if state is not None:
            dataset.load_state_dict(state)
        next(iter(dataset))
        return torch.rand(4)

    torch.manual_seed(0)
    after_initialisation = torch.rand(4)
    assert torch.equal(dropout_draw(None), after_initialisation)
    assert not torch.equal(dropout_draw(datasets.derived_seed(1, "dropout", 1)), after_initialisation)
    torch.manual_seed(5)
    saved = RandomBlockTokenDataset(torch.arange(100), 8, 2, seed=1).state_dict()
    after_saving = torch.rand(4)
    assert torch.equal(dropout_draw(datasets.derived_seed(1, "dropout", 1), saved), after_saving)  # the saved state wins
