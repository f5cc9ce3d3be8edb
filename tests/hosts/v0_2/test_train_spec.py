"""The `nanogpt` TrainSpec, its flavors and the shipped configs."""

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.loss import build_nanogpt_loss_fn
from nanogpt_titan.hosts.v0_2.parallelize import parallelize_nanogpt
from nanogpt_titan.hosts.v0_2.train_spec import get_train_spec, nanogpt_args
from nanogpt_titan.model import NanoGPT, NanoGPTModelArgs


def test_train_spec_carries_nanogpt_components():
    spec = get_train_spec()
    assert issubclass(spec.model_cls, NanoGPT) and spec.model_args is nanogpt_args
    assert spec.build_loss_fn is build_nanogpt_loss_fn
    assert spec.parallelize_fn is parallelize_nanogpt
    assert spec.pipelining_fn is None
    assert set(spec.model_args) == {"debugmodel", "shakespeare-cpu", "mini-gpt", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"}


@pytest.mark.parametrize("config", ["debug_model.toml", "shakespeare_cpu.toml", "mini-gpt.toml"])
def test_shipped_configs_load_the_plugin(parse_config, config):
    job_config = parse_config(config)
    assert job_config.experimental.custom_import == "nanogpt_titan.plugin"
    assert job_config.model.name == "nanogpt"
    assert job_config.activation_checkpoint.mode == "none"
    assert job_config.optimizer.name == "NanoGPTAdamW"


def test_mini_gpt_config_is_train_shakespeare_char(parse_config):
    c = parse_config("mini-gpt.toml")
    assert c.model.flavor == "mini-gpt"
    assert (c.optimizer.lr, c.optimizer.beta1, c.optimizer.beta2, c.optimizer.weight_decay) == (1e-3, 0.9, 0.99, 0.1)
    assert (c.lr_scheduler.warmup_steps, c.lr_scheduler.total_steps) == (100, 5000)
    assert c.optimizer.lr * c.lr_scheduler.min_lr_factor == pytest.approx(1e-4)
    assert (c.training.local_batch_size, c.training.global_batch_size, c.training.seq_len) == (64, 64, 256)
    assert (c.training.max_norm, c.training.steps, c.training.mixed_precision_param) == (1.0, 5001, "bfloat16")
    assert (c.validation.freq, c.validation.steps) == (250, 200)
    assert c.compile.enable and c.debug.seed == 1337


def test_shakespeare_cpu_config_is_nanogpts_cpu_recipe(parse_config):
    c = parse_config("shakespeare_cpu.toml")
    assert c.model.flavor == "shakespeare-cpu"
    assert (c.training.local_batch_size, c.training.seq_len, c.training.steps) == (12, 64, 2001)
    assert (c.lr_scheduler.warmup_steps, c.lr_scheduler.total_steps) == (100, 2000)
    assert (c.validation.freq, c.validation.steps) == (250, 20)
    assert not c.compile.enable and c.training.mixed_precision_param == "float32"


def test_flavor_lookup_is_a_copy_the_trainer_may_update(parse_config):
    nanogpt_args["debugmodel"].update_from_config(parse_config("debug_model.toml"))
    assert nanogpt_args["debugmodel"].vocab_size is None


def test_flavor_may_name_a_converted_checkpoint(tmp_path):
    args = NanoGPTModelArgs(n_layer=1, n_head=2, n_embd=8, block_size=16, vocab_size=65, bias=False)
    args.to_json(tmp_path / "model_args.json")
    assert nanogpt_args[str(tmp_path)] == args
    assert nanogpt_args[str(tmp_path / "model_args.json")] == args


@pytest.mark.parametrize("flavor", ["tiny", "config.toml", "outputs"])
def test_unknown_flavor_lists_the_choices(tmp_path, monkeypatch, flavor):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("[model]\n")  # an existing file that is no model_args.json
    (tmp_path / "outputs").mkdir()  # a folder with neither model_args.json nor config.json
    with pytest.raises(KeyError) as raised:  # the Mapping contract: a KeyError, which is also our error type
        nanogpt_args[flavor]
    assert isinstance(raised.value, NanoGPTTitanError)
    message = str(raised.value)
    assert f"unknown nanogpt flavor '{flavor}'" in message and "'debugmodel', 'gpt2'" in message
    assert "model_args.json" in message and "Hugging Face GPT-2 folder" in message
    assert nanogpt_args.get(flavor) is None


def test_get_returns_a_copy_too():
    copy = nanogpt_args.get("debugmodel")
    copy.n_layer = 99
    assert nanogpt_args.get("debugmodel").n_layer == 2 and nanogpt_args["debugmodel"].n_layer == 2


def test_flavor_may_name_a_hugging_face_folder(tmp_path):
    (tmp_path / "config.json").write_text(
        '{"n_layer": 2, "n_head": 4, "n_embd": 32, "n_positions": 64, "vocab_size": 65, "resid_pdrop": 0.1}')
    assert nanogpt_args[str(tmp_path)] == NanoGPTModelArgs(
        n_layer=2, n_head=4, n_embd=32, block_size=64, vocab_size=65, dropout=0.1, bias=True)


def test_the_old_flavor_name_still_works_with_a_warning(caplog):
    import logging

    with caplog.at_level(logging.WARNING):
        assert nanogpt_args["baby"] == nanogpt_args["shakespeare-cpu"]
    assert "flavor 'baby' is now called 'shakespeare-cpu'" in caplog.text
