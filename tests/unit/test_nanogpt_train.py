"""`nanogpt-titan train` before the run starts: what it refuses (one line, in nanoGPT's names,
nothing on disk), what it would run (the settings, the printed command), and eval_only, which
runs nothing: nanoGPT's estimate from nanoGPT's draws."""

import shlex
from pathlib import Path

import pytest
import torch

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.nanogpt.arguments import read_config
from nanogpt_titan.nanogpt.eval_only import estimate_loss
from nanogpt_titan.nanogpt.train import run_settings

TINY = [
    "--device=cpu",
    "--compile=False",
    "--block_size=32",
    "--batch_size=2",
    "--n_layer=1",
    "--n_head=2",
    "--n_embd=16",
    "--eval_iters=2",
    "--max_iters=4",
]


def saved_run(out_dir: Path, step: int) -> None:
    """An out_dir as a torchtitan run leaves it: a complete checkpoint at `step`."""
    (out_dir / "checkpoint" / f"step-{step}").mkdir(parents=True)
    (out_dir / "checkpoint" / f"step-{step}" / ".metadata").write_bytes(b"")


def test_gpt2_124m_is_491520_tokens_an_iteration_on_every_number_of_processes_dividing_40(nanogpt_dir):
    config = read_config(["config/train_gpt2.py", "--device=cpu"])
    for processes in (1, 8, 40):
        settings = run_settings(config, processes)
        batch = settings["training.global_batch_size"] * settings["training.seq_len"]
        assert batch == 491_520 and (processes == 1) == ("parallelism.data_parallel_replicate_degree" not in settings)
    assert run_settings(config, 8)["parallelism.data_parallel_replicate_degree"] == 8  # nanoGPT's DDP
    with pytest.raises(NanoGPTTitanError, match="gradient_accumulation_steps=40 is not a multiple of the 3 processes"):
        run_settings(config, 3)


def test_every_path_is_absolute_and_the_printed_command_runs_from_anywhere(nanogpt_dir, monkeypatch, capsys):
    """The printed form is torchtitan's own, with the data and out_dir as absolute paths."""
    from nanogpt_titan import launch
    from nanogpt_titan.cli import main

    launched = []
    monkeypatch.setattr(
        launch.Launch,
        "run",
        lambda self, module, arguments, environment: launched.append((module, arguments, environment)),
    )
    assert (
        main(
            [
                "train",
                "--nproc_per_node=2",
                "--standalone",
                "config/train_shakespeare_char.py",
                *TINY,
                "--gradient_accumulation_steps=2",
            ]
        )
        == 0
    )
    printed = shlex.split(capsys.readouterr().err.splitlines()[-1])
    ((module, arguments, environment),) = launched
    assert printed[:6] == [
        "CUDA_VISIBLE_DEVICES=",
        "torchrun",
        "--standalone",
        "--nproc_per_node=2",
        "--nnodes=1",
        "-m",
    ] and printed[6:] == [module, *arguments]
    assert str(nanogpt_dir / "data" / "shakespeare_char") in arguments
    assert str(nanogpt_dir / "out-shakespeare-char") in arguments
    assert environment["NANOGPT_TITAN_RESUME"] == shlex.join(
        [
            "nanogpt-titan",
            "train",
            "--standalone",
            "--nproc_per_node=2",
            "--nnodes=1",
            "config/train_shakespeare_char.py",
            *TINY,
            "--gradient_accumulation_steps=2",
            "--init_from=resume",
        ]
    )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--dataset=nope"], "dataset='nope': data/nope is not a folder: name a nanoGPT data folder"),
        (["--block_size=200000"], "dataset='shakespeare_char': "),
        (
            ["--init_from=gpt2", "--dataset=openwebtext", "--block_size=2048"],
            "block_size=2048 exceeds the 1024 positions",
        ),
        (["--init_from=resume"], "init_from='resume': out-shakespeare-char holds no torchtitan run to resume"),
        (["--init_from=somewhere"], "init_from='somewhere' is none of 'scratch', 'resume', 'gpt2'"),
        (
            ["--device=mps"],
            "nanoGPT setting device='mps' is not supported: torchtitan trains on 'cuda' ('cuda:N') or 'cpu'",
        ),
        (
            ["--device=cuda"],
            "device='cuda': this machine has no CUDA device; pass --device=cpu, as nanoGPT's README does",
        ),
        (["--lr_decay_iters=100"], "nanoGPT setting lr_decay_iters=100 is not supported: it equals warmup_iters"),
        (
            ["--learning_rat=1e-3"],
            "--learning_rat=1e-3: train.py has no setting 'learning_rat'; did you mean 'learning_rate'?",
        ),
    ],
)
def test_bad_settings_are_one_line_and_nothing_is_written(nanogpt_dir, cli, capsys, arguments, message):
    if arguments == ["--device=cuda"] and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert cli("train", "config/train_shakespeare_char.py", "--device=cpu", "--max_iters=200", *arguments) == 2
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert error.startswith("nanogpt-titan train: error: ") and message in error
    assert sorted(p.name for p in nanogpt_dir.iterdir()) == ["config", "data"]


def test_a_split_without_val_bin_is_refused_before_anything_starts(nanogpt_dir, cli, capsys):
    (nanogpt_dir / "data" / "openwebtext" / "val.bin").unlink()
    assert cli("train", "config/train_gpt2.py", *TINY) == 2
    assert capsys.readouterr().err.strip() == (
        f"nanogpt-titan train: error: dataset='openwebtext': {Path('data/openwebtext/val.bin')} does not exist: a "
        "nanoGPT data folder holds train.bin and val.bin (`nanogpt-titan prepare` or nanoGPT's data/*/prepare.py "
        "write them)"
    )


def test_scratch_over_a_run_is_refused_and_the_run_is_left_as_it_is(nanogpt_dir, cli, capsys):
    """A run folder holds one model: nanoGPT would start over in it; here the run is kept, and
    the two ways on are named."""
    run = nanogpt_dir / "out-shakespeare-char"
    saved_run(run, 4)
    before = sorted(str(path) for path in run.rglob("*"))
    assert cli("train", "config/train_shakespeare_char.py", *TINY, "--n_layer=2") == 2
    assert capsys.readouterr().err.strip() == (
        "nanogpt-titan train: error: out_dir='out-shakespeare-char' holds a run (out-shakespeare-char/checkpoint): "
        "--init_from=resume continues it, another --out_dir starts over"
    )
    assert sorted(str(path) for path in run.rglob("*")) == before


def test_resuming_a_run_that_reached_max_iters_names_the_setting_to_raise(nanogpt_dir, cli, capsys):
    saved_run(nanogpt_dir / "out-shakespeare-char", 5)
    assert cli("train", "config/train_shakespeare_char.py", *TINY, "--init_from=resume") == 2
    assert capsys.readouterr().err.strip() == (
        "nanogpt-titan train: error: init_from='resume': the run in out-shakespeare-char is complete, its last "
        "checkpoint at iteration 5 and max_iters=4: raise --max_iters to train on"
    )


def test_eval_only_from_scratch_prints_nanogpts_first_evaluation(nanogpt_dir, cli, capsys, nanogpt_fixtures):
    """nanoGPT's CPU recipe evaluated before its first update, as its log's first line says."""
    assert (
        cli(
            "train",
            "config/train_shakespeare_char.py",
            "--device=cpu",
            "--compile=False",
            "--eval_iters=20",
            "--block_size=64",
            "--batch_size=12",
            "--n_layer=4",
            "--n_head=4",
            "--n_embd=128",
            "--dropout=0.0",
            "--eval_only=True",
        )
        == 0
    )
    first_evaluation = next(
        line
        for line in (nanogpt_fixtures / "cpu_recipe_seed1337.log").read_text().splitlines()
        if line.startswith("step 0:")
    )
    assert capsys.readouterr().out == first_evaluation + "\n"
    assert sorted(p.name for p in nanogpt_dir.iterdir()) == ["config", "data"]


def test_eval_only_of_nanogpts_checkpoint_prints_its_iteration_and_nanogpts_numbers(
    nanogpt_dir, cli, capsys, nanogpt_fixtures
):
    """The recorded run (tests/fixtures/nanogpt/README.md): generate.pt's model in a ckpt.pt at iter_num 7."""
    golden = torch.load(nanogpt_fixtures / "generate.pt", weights_only=True)
    args = {key: golden["config"][key] for key in ("n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size")}
    (nanogpt_dir / "out").mkdir()
    torch.save(
        {
            "model": golden["state_dict"],
            "model_args": {**args, "dropout": 0.0},
            "iter_num": 7,
            "config": {"dataset": "shakespeare_char"},
        },
        nanogpt_dir / "out" / "ckpt.pt",
    )
    assert (
        cli(
            "train",
            "config/train_shakespeare_char.py",
            "--device=cpu",
            "--compile=False",
            "--eval_iters=5",
            "--block_size=16",
            "--batch_size=4",
            "--eval_interval=1",
            "--max_iters=7",
            "--init_from=resume",
            "--out_dir=out",
            "--eval_only=True",
        )
        == 0
    )
    assert capsys.readouterr().out == "step 7: train loss 4.1814, val loss 4.1677\n"


@pytest.mark.parametrize("name", ["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"])
def test_eval_only_reports_the_loss_transformers_computes_on_nanogpts_batches(nanogpt_dir, name, openai_cache):
    """The loss of OpenAI's weights (stand-ins) on the batches nanoGPT draws after constructing the model."""
    transformers = pytest.importorskip("transformers")
    from nanogpt_titan.data.folder import DataFolder
    from nanogpt_titan.nanogpt.init_from import pretrained
    from nanogpt_titan.nanogpt_draws import NanoGPTBatches, initial_weights

    config = read_config(
        [
            f"config/eval_{name.replace('-', '_')}.py",
            "--device=cpu",
            "--eval_iters=2",
            "--batch_size=2",
            "--block_size=128",
        ]
    )
    iteration, losses = estimate_loss(config)
    model = transformers.GPT2LMHeadModel.from_pretrained(
        next((openai_cache / f"models--{name}" / "snapshots").iterdir())
    )
    data = DataFolder(Path("data/openwebtext"))
    torch.set_rng_state(initial_weights(pretrained(name, None, 0.0)[1], 1337)[1])
    batches = NanoGPTBatches(data.split("train"), data.split("val"), 2, 128, 1, 1, 2, True).evaluation(0)
    for split, loss in losses.items():
        with torch.no_grad():  # transformers' logits on nanoGPT's windows and targets
            theirs = [
                torch.nn.functional.cross_entropy(model(x).logits.flatten(0, 1), y.flatten()) for x, y in batches[split]
            ]
        assert abs(loss - torch.stack(theirs).mean().item()) <= 1e-5, split
    assert iteration == 0


def test_openais_weights_missing_from_the_cache_name_the_download(nanogpt_dir, cli, capsys, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    assert cli("train", "config/eval_gpt2.py", "--device=cpu") == 2
    assert capsys.readouterr().err.strip() == (
        f"nanogpt-titan train: error: init_from='gpt2': OpenAI's weights are not in the Hugging Face cache "
        f"({tmp_path / 'empty'}); download them once: hf download openai-community/gpt2 config.json model.safetensors"
    )


def test_eval_gpt2_from_a_hugging_face_folder_named_by_init_from(nanogpt_dir, cli, capsys, openai_cache):
    folder = next((openai_cache / "models--gpt2-medium" / "snapshots").iterdir())
    arguments = [
        "config/eval_gpt2.py",
        "--device=cpu",
        "--eval_iters=1",
        "--batch_size=1",
        "--block_size=64",
        f"--init_from={folder}",
    ]
    assert cli("train", *arguments) == 0
    _, losses = estimate_loss(read_config(arguments))
    assert capsys.readouterr().out == f"step 0: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}\n"
