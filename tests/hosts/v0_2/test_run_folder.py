"""What a run loads from its dump folder, checked before anything is built."""

from pathlib import Path

import pytest
import torch

from nanogpt_titan.checkpoint.saved import single_process_dcp
from nanogpt_titan.checkpoint.write import write_vocabulary
from nanogpt_titan.data.vocabulary import CharVocabulary, GPT2Vocabulary
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.settings import run_folder

CHARS = CharVocabulary(tuple("abc"))


@pytest.fixture
def saved_by_two_ranks(tmp_path) -> Path:
    """A dump folder whose checkpoint/step-5 holds the dataloader states of two data-parallel ranks,
    beside a step-10 folder that a kill cut short (no .metadata)."""
    step_5, step_10 = tmp_path / "checkpoint" / "step-5", tmp_path / "checkpoint" / "step-10"
    with single_process_dcp():
        torch.distributed.checkpoint.save(
            {
                "dataloader.dp_rank_0": torch.zeros(1),
                "dataloader.dp_rank_1": torch.zeros(1),
                "model.wte.weight": torch.zeros(2),
            },
            checkpoint_id=step_5,
            no_dist=True,
        )
    step_10.mkdir()
    return tmp_path


@pytest.fixture
def run_config(parse_config, saved_by_two_ranks):
    """debug_model.toml in the folder above (two ranks: 16 samples a step), plus overrides."""
    return lambda *overrides: parse_config(
        "debug_model.toml",
        "--job.dump_folder",
        str(saved_by_two_ranks),
        "--training.global_batch_size",
        "16",
        *overrides,
    )


@pytest.mark.parametrize(
    "overrides, refused",
    [
        ([], True),
        (["--checkpoint.load_step", "5"], True),
        (["--checkpoint.load_step", "7"], False),  # torchtitan reports a missing step itself
        (["--checkpoint.no-enable"], False),
        (["--checkpoint.exclude_from_loading", "dataloader"], False),
    ],
)
def test_resuming_on_another_number_of_ranks_is_refused(run_config, saved_by_two_ranks, overrides, refused):
    step_5 = saved_by_two_ranks / "checkpoint" / "step-5"
    run_folder(run_config(*overrides)).check(2, CHARS)  # the degree that saved it resumes
    if not refused:
        run_folder(run_config(*overrides)).check(1, CHARS)
        return
    with pytest.raises(NanoGPTTitanError) as error:
        run_folder(run_config(*overrides)).check(1, CHARS)
    assert str(error.value) == (
        f"{step_5} holds the data streams of 2 data-parallel ranks and this run has 1: a run resumes only on the "
        "degree that saved it. Resume with 2 ranks, or start a new run from its weights alone: another "
        f"--job.dump_folder and --checkpoint.initial_load_path {step_5}"
    )


def test_a_load_only_run_of_a_named_checkpoint_in_a_folder_that_holds_a_run_is_refused(
    run_config, saved_by_two_ranks, tmp_path_factory
):
    """torchtitan would resume the folder's step and ignore the named checkpoint."""
    named = tmp_path_factory.mktemp("converted")
    with pytest.raises(NanoGPTTitanError) as error:
        run_folder(run_config("--checkpoint.load_only", "--checkpoint.initial_load_path", str(named))).check(2, CHARS)
    assert str(error.value) == (
        f"this load-only run names {named}, but job.dump_folder={saved_by_two_ranks} already holds "
        f"{saved_by_two_ranks / 'checkpoint' / 'step-5'}, which torchtitan would load instead: give the run a "
        "--job.dump_folder of its own (one without a checkpoint folder)"
    )
    run_folder(run_config("--checkpoint.initial_load_path", str(named))).check(2, CHARS)  # training resumes the run


@pytest.mark.parametrize("steps, refused", [("5", True), ("6", False)])
def test_a_load_only_run_that_would_resume_past_its_last_step_is_refused(
    run_config, saved_by_two_ranks, steps, refused
):
    config = run_config("--checkpoint.load_only", "--training.steps", steps)
    if not refused:
        run_folder(config).check(2, CHARS)  # step 6 runs, and validates
        return
    step_5 = saved_by_two_ranks / "checkpoint" / "step-5"
    with pytest.raises(NanoGPTTitanError) as error:
        run_folder(config).check(2, CHARS)
    assert str(error.value) == (
        f"this load-only run would resume {step_5} at step 5, past training.steps=5, and so validate nothing: to "
        f"validate it, pass --checkpoint.initial_load_path {step_5} and another --job.dump_folder"
    )


@pytest.mark.parametrize(
    "initial_load",
    [
        ["--checkpoint.initial_load_path", "named"],
        ["--checkpoint.initial_load_in_hf", "--model.hf_assets_path", "named"],
    ],
)
def test_a_checkpoint_folder_without_a_complete_step_never_hides_the_initial_load(parse_config, tmp_path, initial_load):
    (tmp_path / "checkpoint" / "step-3").mkdir(parents=True)  # cut short by a kill: no .metadata
    config = parse_config("debug_model.toml", "--job.dump_folder", str(tmp_path), *initial_load)
    with pytest.raises(NanoGPTTitanError) as error:
        run_folder(config).check(1, CHARS)
    assert str(error.value) == (
        f"{tmp_path / 'checkpoint'} exists but holds no complete checkpoint, so torchtitan would start from scratch "
        f"and ignore named: remove {tmp_path / 'checkpoint'}, or give this run another --job.dump_folder"
    )
    run_folder(parse_config("debug_model.toml", "--job.dump_folder", str(tmp_path))).check(
        1, CHARS
    )  # from scratch, as asked


def test_what_a_run_loads(parse_config, run_config, saved_by_two_ranks, tmp_path_factory):
    fresh = str(tmp_path_factory.mktemp("fresh"))
    loaded = [
        run_folder(parse_config("debug_model.toml", "--job.dump_folder", fresh, *overrides)).loaded()
        for overrides in (
            [],
            ["--checkpoint.initial_load_path", "dcp"],
            ["--checkpoint.no-enable"],
            ["--checkpoint.initial_load_in_hf", "--model.hf_assets_path", "hf"],
        )
    ]
    assert loaded == [None, Path("dcp"), None, Path("hf")]
    assert run_folder(run_config("--checkpoint.initial_load_path", "dcp")).loaded() == (
        saved_by_two_ranks / "checkpoint" / "step-5"
    )


def test_resuming_on_data_of_another_vocabulary_is_refused(run_config, saved_by_two_ranks):
    write_vocabulary(saved_by_two_ranks, CHARS)  # as the run recorded it at its first step
    run_folder(run_config()).check(2, CHARS)
    with pytest.raises(NanoGPTTitanError) as error:
        run_folder(run_config()).check(2, GPT2Vocabulary())
    assert str(error.value) == (
        f"{saved_by_two_ranks / 'vocabulary.json'} records another vocabulary than that of the data at "
        f"training.dataset_path=None: resume {saved_by_two_ranks / 'checkpoint' / 'step-5'} with the run's data, or "
        "start a new run in another --job.dump_folder"
    )
