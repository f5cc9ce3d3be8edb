"""The TrainSpec's data: the run's folder and splits, and the window layout over ranks."""

import pytest
import torch

from nanogpt_titan.data.datasets import dataset_split
from nanogpt_titan.data.windows import RandomBlockTokenDataset
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2 import dataloader
from nanogpt_titan.hosts.v0_2.settings import nanogpt_run, run_data


def take(iterable, n):
    iterator = iter(iterable)
    return [next(iterator) for _ in range(n)]


def test_tiny_shakespeares_splits_are_nanogpts_and_read_as_int64(parse_config, shakespeare, shakespeare_text):
    job_config = parse_config("debug_model.toml")
    train, val = (
        run_data(job_config).split(dataset_split(name))
        for name in ("shakespeare_char_train", "shakespeare_char_validation")
    )
    assert (len(train), len(val)) == (1_003_854, 111_540)
    ids = shakespeare.vocabulary.encode(shakespeare_text)
    assert torch.equal(torch.cat([train.read(0, len(train)), val.read(0, len(val))]), torch.tensor(ids))


def test_a_text_of_ones_own_is_prepared_and_split_90_10(parse_config, tmp_path):
    text = "abcdefghij" * 10
    (tmp_path / "text.txt").write_text(text)
    job_config = parse_config("debug_model.toml", "--training.dataset_path", str(tmp_path / "text.txt"))
    val = run_data(job_config).split("val")
    assert run_data(job_config).vocabulary.decode(val.read(0, len(val)).tolist()) == text[90:]


def test_nanogpt_datasets_read_the_data_folder_training_dataset_path_names(parse_config, tmp_path, shakespeare):
    job_config = parse_config(
        "debug_model.toml",
        "--training.dataset",
        "nanogpt_train",
        "--validation.dataset",
        "nanogpt_validation",
        "--training.dataset_path",
        str(shakespeare.path),
    )
    assert run_data(job_config) == shakespeare
    for path in (None, str(tmp_path / "input.txt")):
        (tmp_path / "input.txt").write_text("a text, not a folder\n")
        overrides = [] if path is None else ["--training.dataset_path", path]
        with pytest.raises(NanoGPTTitanError) as error:
            run_data(parse_config("debug_model.toml", "--training.dataset", "nanogpt_train", *overrides))
        assert str(error.value) == (
            f"training.dataset='nanogpt_train' reads a nanoGPT data folder, and training.dataset_path={path!r} names "
            "none: pass --training.dataset_path data/<dataset> (train.bin, val.bin; `nanogpt-titan prepare` writes one)"
        )


@pytest.mark.parametrize("overrides, seed", [([], 1337), (["--debug.seed", "7"], 7)])
def test_the_loader_draws_the_stream_of_the_run_seed(parse_config, overrides, seed):
    job_config = parse_config("debug_model.toml", *overrides)
    train = run_data(job_config).split("train")
    loader = dataloader.build_nanogpt_dataloader(1, 0, None, job_config)
    inputs, targets = next(iter(loader))
    expected_inputs, expected_targets = next(iter(RandomBlockTokenDataset(train, 64, 8, seed=seed)))
    assert torch.equal(inputs["input"], expected_inputs["input"]) and torch.equal(targets, expected_targets)
    assert "dp_rank_0" in loader.state_dict()


def test_unset_seed_is_nanogpts(parse_config, monkeypatch):
    job_config = parse_config("debug_model.toml")
    monkeypatch.setattr(job_config.debug, "seed", None)
    loader = dataloader.build_nanogpt_dataloader(1, 0, None, job_config)
    train = run_data(job_config).split("train")
    expected, _ = next(iter(RandomBlockTokenDataset(train, 64, 8, seed=1337)))
    assert torch.equal(next(iter(loader))[0]["input"], expected["input"])


def test_unknown_dataset_name_lists_the_known_ones(parse_config):
    job_config = parse_config("debug_model.toml", "--training.dataset", "c4_test")
    with pytest.raises(NanoGPTTitanError, match=r"Unknown dataset 'c4_test'.*'nanogpt_train'.*shakespeare_char_train"):
        dataloader.build_nanogpt_dataloader(1, 0, None, job_config)


def micro_batches(loader, count: int) -> list[torch.Tensor]:
    return [inputs["input"] for inputs, _ in take(loader, count)]


@pytest.mark.parametrize("ranks, global_batch", [(2, 16), (2, 32), (4, 32)])
def test_rank_r_micro_batch_a_is_one_process_micro_batch_r_times_a_plus_a(parse_config, ranks, global_batch):
    """Over two steps: the data layout that makes N ranks train as one accumulating process."""
    job_config = parse_config(
        "debug_model.toml", "--training.local_batch_size", "4", "--training.global_batch_size", str(global_batch)
    )
    per_rank = global_batch // 4 // ranks  # micro-batches per rank and step
    one_process = micro_batches(dataloader.build_nanogpt_dataloader(1, 0, None, job_config), 2 * ranks * per_rank)
    for rank in range(ranks):
        loader = dataloader.build_nanogpt_dataloader(ranks, rank, None, job_config)
        for step in range(2):
            for a, batch in enumerate(micro_batches(loader, per_rank)):
                assert torch.equal(batch, one_process[step * ranks * per_rank + rank * per_rank + a])


@pytest.mark.parametrize(
    "global_batch, hint", [(24, "; --training.local_batch_size 12 keeps this global batch"), (25, "")]
)
def test_a_global_batch_the_ranks_cannot_split_is_named(parse_config, global_batch, hint):
    job_config = parse_config("debug_model.toml", "--training.global_batch_size", str(global_batch))
    with pytest.raises(NanoGPTTitanError) as error:
        dataloader.build_nanogpt_dataloader(2, 0, None, job_config)
    assert str(error.value) == (
        f"training.global_batch_size={global_batch} is not a multiple of "
        f"training.local_batch_size=8 times the 2 data-parallel ranks{hint}"
    )


def test_a_zero_global_batch_is_named(parse_config):
    job_config = parse_config("debug_model.toml", "--training.global_batch_size", "0")
    with pytest.raises(NanoGPTTitanError) as error:
        dataloader.build_nanogpt_dataloader(1, 0, None, job_config)
    assert str(error.value) == (
        "training.global_batch_size=0: set a multiple of training.local_batch_size times the "
        "data-parallel ranks, or -1 for one micro-batch per rank"
    )


def test_the_model_args_check_the_run_folder_before_anything_is_built(parse_config, tmp_path):
    from nanogpt_titan.hosts.v0_2.train_spec import nanogpt_args

    (tmp_path / "checkpoint").mkdir()  # no complete step: torchtitan would ignore the initial load
    job_config = parse_config(
        "debug_model.toml", "--job.dump_folder", str(tmp_path), "--checkpoint.initial_load_path", str(tmp_path)
    )
    with pytest.raises(NanoGPTTitanError, match="holds no complete checkpoint"):
        nanogpt_args["debugmodel"].update_from_config(job_config)


def test_nanogpts_randomness_on_several_ranks_is_ddps_and_evaluates_with_the_training_shape(parse_config):
    """Rank r is nanoGPT's DDP rank r: the model is replicated, never sharded; nanoGPT's
    evaluations use the training batches' shape."""
    nanogpt = ("--debug.randomness", "nanogpt", "--training.global_batch_size", "16")
    with pytest.raises(
        NanoGPTTitanError,
        match=r"debug.randomness='nanogpt' follows nanoGPT's DDP, rank by rank, and these "
        r"2 data-parallel ranks shard the model: pass --parallelism.data_parallel_"
        r"replicate_degree 2 --parallelism.data_parallel_shard_degree 1",
    ):
        dataloader.build_nanogpt_dataloader(2, 0, None, parse_config("debug_model.toml", *nanogpt))
    ddp = ("--parallelism.data_parallel_replicate_degree", "2", "--parallelism.data_parallel_shard_degree", "1")
    for rank in (0, 1):
        job_config = parse_config("debug_model.toml", *nanogpt, *ddp)
        dataloader.build_nanogpt_dataloader(2, rank, None, job_config)
        assert nanogpt_run(job_config).randomness.nanogpt_batches.evaluates == (rank == 0)  # nanoGPT's master evaluates
    with pytest.raises(NanoGPTTitanError, match="set validation.local_batch_size=8 and validation.seq_len=64"):
        dataloader.build_nanogpt_dataloader(
            1, 0, None, parse_config("debug_model.toml", *nanogpt, "--validation.seq_len", "32")
        )


def test_each_process_draws_from_nanogpts_seed_plus_its_rank(parse_config, monkeypatch):
    """nanoGPT's torch.manual_seed(1337 + rank): the weights are the master's (DDP's), the
    generator continues from this rank's own init."""
    from nanogpt_titan.hosts.v0_2.model_args import NanoGPTTrainArgs, NanoGPTTrainModel
    from nanogpt_titan.nanogpt_draws import initial_weights

    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda: 3)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda: 4)
    args = NanoGPTTrainArgs(n_layer=1, n_head=1, n_embd=8, block_size=64)
    args.update_from_config(parse_config("debug_model.toml", "--debug.randomness", "nanogpt", "--debug.seed", "7"))
    model = NanoGPTTrainModel(args)
    model.init_weights()
    weights, _ = initial_weights(args, 7)
    assert all(torch.equal(model.state_dict()[name], weight) for name, weight in weights.items())
    assert torch.equal(torch.get_rng_state(), initial_weights(args, 10)[1])
