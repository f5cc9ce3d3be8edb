"""The `nanogpt` TrainSpec, its flavors and the shipped configs."""

import pytest

from nanogpt_titan.hosts.v0_2.loss import build_nanogpt_loss_fn
from nanogpt_titan.hosts.v0_2.parallelize import parallelize_nanogpt
from nanogpt_titan.hosts.v0_2.train_spec import get_train_spec, nanogpt_args
from nanogpt_titan.model import NanoGPT


def test_train_spec_carries_nanogpt_components():
    spec = get_train_spec()
    assert issubclass(spec.model_cls, NanoGPT) and spec.model_args is nanogpt_args
    assert spec.build_loss_fn is build_nanogpt_loss_fn
    assert spec.parallelize_fn is parallelize_nanogpt
    assert spec.pipelining_fn is None
    assert set(spec.model_args) == {
        "debugmodel",
        "shakespeare-cpu",
        "mini-gpt",
        "gpt2",
        "gpt2-medium",
        "gpt2-large",
        "gpt2-xl",
    }


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
