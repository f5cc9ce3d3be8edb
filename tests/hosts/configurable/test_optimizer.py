"""nanoGPT's optimizer on torchtitan 0.3: its two groups as the container's parameter groups,
and `get_lr` as its schedule."""

import logging
from dataclasses import replace

import pytest
import torch

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.configurable.optimizer import NanoGPTLRSchedulers, NanoGPTOptimizers
from nanogpt_titan.model import FLAVORS
from nanogpt_titan.optim import nanogpt_lr_factor


@pytest.fixture
def model(build_model):
    return build_model(replace(FLAVORS["shakespeare-cpu"], vocab_size=65))


def test_decay_on_matrices_and_embeddings_only_logged_as_nanogpt(model, caplog):
    with caplog.at_level(logging.INFO):
        optimizers = NanoGPTOptimizers.Config(weight_decay=0.1, lr=1e-3, beta2=0.99).build(model_parts=[model])
    (optimizer,) = optimizers.optimizers
    assert isinstance(optimizer, torch.optim.AdamW)
    decayed, not_decayed = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and not_decayed["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(p) for p in model.parameters() if p.dim() >= 2}
    assert {id(p) for p in not_decayed["params"]} == {id(p) for p in model.parameters() if p.dim() < 2}
    assert all(group["lr"] == 1e-3 and group["betas"] == (0.9, 0.99) for group in optimizer.param_groups)
    assert "num decayed parameter tensors: 18, with 802,944 parameters" in caplog.messages  # nanoGPT's CPU recipe
    assert "num non-decayed parameter tensors: 9, with 1,152 parameters" in caplog.messages


def test_the_schedule_is_get_lr_over_its_own_horizon(model):
    optimizers = NanoGPTOptimizers.Config(lr=1.0).build(model_parts=[model])
    config = NanoGPTLRSchedulers.Config(warmup_steps=10, total_steps=100, min_lr_factor=0.1)
    schedulers = config.build(optimizers=optimizers, training_steps=7)  # training.steps never moves the horizon
    for it in range(120):
        assert optimizers.optimizers[0].param_groups[0]["lr"] == pytest.approx(
            nanogpt_lr_factor(it, 10, 100, 0.1), rel=1e-12
        )
        schedulers.step()


@pytest.mark.parametrize(
    "settings, fact",
    [
        ({"decay_type": "linear"}, 'set lr_scheduler.decay_type = "cosine"'),
        ({"total_steps": None}, "lr_scheduler.total_steps is not set: it is nanoGPT's lr_decay_iters"),
    ],
)
def test_schedules_nanogpt_has_not_are_refused(model, settings, fact):
    optimizers = NanoGPTOptimizers.Config().build(model_parts=[model])
    config = NanoGPTLRSchedulers.Config(**{"warmup_steps": 10, "total_steps": 100, **settings})
    with pytest.raises(NanoGPTTitanError, match=fact):
        config.build(optimizers=optimizers, training_steps=100)
