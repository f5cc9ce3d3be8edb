"""nanoGPT's configuration, read as its train.py and configurator.py read it."""

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.nanogpt.arguments import TRAIN_PY_DEFAULTS, read_config, train_py_defaults


def test_train_pys_defaults_are_gpt2_124m_on_openwebtext():
    defaults = train_py_defaults()
    assert {
        key: defaults[key]
        for key in (
            "dataset",
            "batch_size",
            "block_size",
            "gradient_accumulation_steps",
            "learning_rate",
            "max_iters",
            "beta2",
            "min_lr",
            "warmup_iters",
            "bias",
        )
    } == {
        "dataset": "openwebtext",
        "batch_size": 12,
        "block_size": 1024,
        "gradient_accumulation_steps": 40,
        "learning_rate": 6e-4,
        "max_iters": 600000,
        "beta2": 0.95,
        "min_lr": 6e-5,
        "warmup_iters": 2000,
        "bias": False,
    }
    assert defaults["dtype"] == "float16"  # no CUDA with bfloat16 here: train.py's own choice
    assert len(TRAIN_PY_DEFAULTS) == 33


def test_a_config_file_runs_as_python_over_the_defaults_then_overrides_apply_left_to_right(tmp_path):
    (tmp_path / "first.py").write_text(
        "import time\nout_dir = 'out-' + str(7 * 6)\nbatch_size = 64\n"
        "learning_rate = 1e-3\nhelper = lambda x: x\nmax_iters = batch_size * 10\n"
    )
    (tmp_path / "second.py").write_text("batch_size = 8\n")
    config = read_config(
        [
            str(tmp_path / "first.py"),
            "--batch_size=32",
            str(tmp_path / "second.py"),
            "--dataset=shakespeare",
            "--compile=False",
            "--dropout=0.1",
        ]
    )
    assert (config["out_dir"], config["max_iters"], config["learning_rate"]) == ("out-42", 640, 1e-3)
    assert config["batch_size"] == 8  # the second file came after the override
    assert (config["dataset"], config["compile"], config["dropout"]) == (
        "shakespeare",
        False,
        0.1,
    )  # a string falls back
    assert "helper" not in config and "time" not in config


@pytest.mark.parametrize(
    "argument, message",
    [
        (
            "--batch_size=3.5",
            "--batch_size=3.5: batch_size is an int (12), and '3.5' reads as a float; nanoGPT keeps each "
            "setting's type (e.g. 1.0, not 1, for a float)",
        ),
        ("--learning_rate=1", "--learning_rate=1: learning_rate is a float (0.0006), and '1' reads as an int"),
        ("--seed=3", "--seed=3: train.py has no setting 'seed'; its settings are ['always_save_checkpoint', "),
        (
            "--learning_rat=1e-3",
            "--learning_rat=1e-3: train.py has no setting 'learning_rat'; did you mean 'learning_rate'?",
        ),
        ("--eval_interal=5", "--eval_interal=5: train.py has no setting 'eval_interal'; did you mean 'eval_interval'?"),
        ("--compile", "--compile: nanoGPT's overrides read --key=value, e.g. --compile=..."),
        (
            "missing.py",
            "config file missing.py does not exist (a bare argument is a config file; settings are --key=value)",
        ),
    ],
)
def test_bad_arguments_are_one_line_naming_the_key_and_the_fix(argument, message):
    with pytest.raises(NanoGPTTitanError) as error:
        read_config([argument])
    assert str(error.value).startswith(message)


def test_a_config_file_that_raises_or_sets_an_unknown_key_is_named_with_the_line(tmp_path):
    (tmp_path / "raises.py").write_text("batch_size = 8\nblock_size = undefined_name\n")
    with pytest.raises(NanoGPTTitanError) as error:
        read_config([str(tmp_path / "raises.py")])
    assert str(error.value) == (
        f"config file {tmp_path / 'raises.py'} raised NameError at line 2: name 'undefined_name' is not defined"
    )
    (tmp_path / "typo.py").write_text("learning_rate_decay = 0.1\n")
    with pytest.raises(
        NanoGPTTitanError,
        match=r"typo.py sets 'learning_rate_decay': train.py has no setting "
        r"'learning_rate_decay'; did you mean 'learning_rate'\?",
    ):
        read_config([str(tmp_path / "typo.py")])
