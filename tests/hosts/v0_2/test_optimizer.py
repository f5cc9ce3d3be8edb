import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.optimizer import build_nanogpt_optimizers
from nanogpt_titan.hosts.v0_2.train_spec import nanogpt_args
from nanogpt_titan.optim import NanoGPTAdam, NanoGPTAdamW


def group_summary(optimizer):
    return [(len(g["params"]), sum(p.numel() for p in g["params"]), g["weight_decay"]) for g in optimizer.param_groups]


shapes = st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3), min_size=1, max_size=12)


@pytest.mark.parametrize("optimizer_cls", [NanoGPTAdamW, NanoGPTAdam])
@given(shapes=shapes, frozen=st.lists(st.booleans(), min_size=12, max_size=12))
def test_every_trainable_param_in_exactly_one_group_decay_iff_matrix(optimizer_cls, shapes, frozen):
    params = [nn.Parameter(torch.zeros(shape), requires_grad=not f) for shape, f in zip(shapes, frozen)]
    if not any(p.requires_grad for p in params):
        return
    optimizer = optimizer_cls(params, lr=1e-3, weight_decay=0.1)
    grouped = [(p, g["weight_decay"]) for g in optimizer.param_groups for p in g["params"]]
    assert sorted(id(p) for p, _ in grouped) == sorted(id(p) for p in params if p.requires_grad)
    for param, decay in grouped:
        assert decay == (0.1 if param.dim() >= 2 else 0.0)


@pytest.mark.parametrize(
    "flavor, expected",
    [
        ("mini-gpt", [(26, 10_740_096, 0.1), (13, 4_992, 0.0)]),
        ("shakespeare-cpu", [(18, 802_944, 0.1), (9, 1_152, 0.0)]),
    ],
)
def test_nanogpt_group_counts_and_its_log_lines(build_model, flavor, expected, caplog):
    import logging
    from dataclasses import replace

    model = build_model(replace(nanogpt_args[flavor], vocab_size=65))
    with caplog.at_level(logging.INFO):
        optimizer = NanoGPTAdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    assert group_summary(optimizer) == expected
    (decayed, count, _), (not_decayed, not_count, _) = expected
    assert caplog.messages == [
        f"num decayed parameter tensors: {decayed}, with {count:,} parameters",
        f"num non-decayed parameter tensors: {not_decayed}, with {not_count:,} parameters",
    ]


def test_param_groups_are_refused():
    with pytest.raises(
        TypeError, match="^NanoGPTAdamW makes its own parameter groups; pass a flat list of parameters$"
    ):
        NanoGPTAdamW([{"params": [nn.Parameter(torch.zeros(2, 2))]}], lr=1e-3)


def test_no_decay_unless_asked_for():
    optimizer = NanoGPTAdamW([nn.Parameter(torch.zeros(2, 2)), nn.Parameter(torch.zeros(2))], lr=1e-3)
    assert [group["weight_decay"] for group in optimizer.param_groups] == [0.0, 0.0]


def test_positional_and_keyword_settings_reach_the_optimizer():
    optimizer = NanoGPTAdam([nn.Parameter(torch.zeros(2, 2)), nn.Parameter(torch.zeros(2))], 0.5, betas=(0.8, 0.9))
    assert [(g["lr"], g["betas"]) for g in optimizer.param_groups] == [(0.5, (0.8, 0.9))] * 2


@pytest.mark.parametrize(
    "implementation, fused, foreach",
    [
        ("fused", True, False),
        ("foreach", False, True),
        ("for-loop", False, False),
    ],
)
def test_implementation_setting_picks_the_kernel(parse_config, build_model, implementation, fused, foreach):
    from dataclasses import replace

    job_config = parse_config("debug_model.toml", "--optimizer.implementation", implementation)
    model = build_model(replace(nanogpt_args["debugmodel"], vocab_size=65))
    (optimizer,) = build_nanogpt_optimizers([model], job_config.optimizer, parallel_dims=None).optimizers
    assert (optimizer.defaults["fused"], optimizer.defaults["foreach"]) == (fused, foreach)


def test_early_step_in_backward_is_refused_by_name(parse_config):
    job_config = parse_config("debug_model.toml", "--optimizer.early_step_in_backward")
    with pytest.raises(NanoGPTTitanError, match="optimizer.early_step_in_backward.*NanoGPTAdamW"):
        build_nanogpt_optimizers([nn.Linear(2, 2)], job_config.optimizer, parallel_dims=None)


def test_other_optimizers_are_torchtitans_own_builder(parse_config, monkeypatch):
    from nanogpt_titan.hosts.v0_2 import optimizer as optimizer_module

    calls = []
    monkeypatch.setattr(optimizer_module, "build_optimizers", lambda *args: calls.append(args) or "built")
    config, dims, ft_manager = (
        parse_config("debug_model.toml", "--optimizer.name", "AdamW").optimizer,
        object(),
        object(),
    )
    model_parts = [nn.Linear(2, 2)]
    assert build_nanogpt_optimizers(model_parts, config, dims, ft_manager) == "built"
    assert calls == [(model_parts, config, dims, ft_manager)]


@pytest.mark.parametrize("name, groups", [("NanoGPTAdamW", 2), ("NanoGPTAdam", 2), ("AdamW", 1)])
def test_builder_selects_by_name_and_keeps_torchtitans_own(parse_config, build_model, name, groups):
    from dataclasses import replace

    job_config = parse_config("debug_model.toml", "--optimizer.name", name)
    model = build_model(replace(nanogpt_args["debugmodel"], vocab_size=65))
    container = build_nanogpt_optimizers([model], job_config.optimizer, parallel_dims=None)
    (optimizer,) = container.optimizers
    assert len(optimizer.param_groups) == groups
    expected_cls = {"NanoGPTAdamW": NanoGPTAdamW, "NanoGPTAdam": NanoGPTAdam, "AdamW": torch.optim.AdamW}[name]
    assert type(optimizer) is expected_cls
    assert optimizer.param_groups[0]["lr"] == job_config.optimizer.lr


def test_an_unknown_optimizer_name_lists_the_valid_ones(parse_config):
    config = parse_config("debug_model.toml", "--optimizer.name", "Bogus").optimizer
    with pytest.raises(
        NanoGPTTitanError, match=r"optimizer.name='Bogus' is none of \['NanoGPTAdamW', 'NanoGPTAdam', 'AdamW', 'Adam'\]"
    ):
        build_nanogpt_optimizers([nn.Linear(2, 2)], config, parallel_dims=None)
