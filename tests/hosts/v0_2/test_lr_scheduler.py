import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.lr_scheduler import build_nanogpt_lr_schedulers
from nanogpt_titan.optim import nanogpt_lr_factor


@example(it=0, warmup=100, horizon=4900, min_lr_factor=0.1)  # warmup
@example(it=2500, warmup=100, horizon=4900, min_lr_factor=0.1)  # cosine
@example(it=5100, warmup=100, horizon=4900, min_lr_factor=0.1)  # past lr_decay_iters
@example(it=70, warmup=100, horizon=-40, min_lr_factor=0.1)  # a warmup longer than the horizon: still warming up
@example(it=120, warmup=100, horizon=-40, min_lr_factor=0.1)  # ... then min_lr
@example(it=3000, warmup=100, horizon=4900, min_lr_factor=2.0)  # min_lr above learning_rate, as nanoGPT allows
@given(
    it=st.integers(0, 10_000),
    warmup=st.integers(0, 500),
    horizon=st.integers(-500, 6000).filter(bool),  # lr_decay_iters - warmup_iters; 0 is get_lr's 0/0
    min_lr_factor=st.floats(-1.0, 10.0),
)
def test_factor_is_get_lr_over_learning_rate(nanogpt_get_lr, it, warmup, horizon, min_lr_factor):
    decay = warmup + horizon
    expected = nanogpt_get_lr(it, 1e-3, warmup, decay, 1e-3 * min_lr_factor)
    assert 1e-3 * nanogpt_lr_factor(it, warmup, decay, min_lr_factor) == pytest.approx(expected, rel=1e-12, abs=1e-18)


def make_container():
    from torchtitan.components.optimizer import OptimizersContainer

    model = torch.nn.Linear(2, 2)
    return OptimizersContainer([model], torch.optim.AdamW, {"lr": 1e-3})


def test_lr_used_at_step_s_is_get_lr_of_s_minus_1(parse_config, nanogpt_get_lr):
    job_config = parse_config("mini-gpt.toml")
    optimizers = make_container()
    schedulers = build_nanogpt_lr_schedulers(optimizers, job_config.lr_scheduler, job_config.training.steps)
    for step in range(1, job_config.training.steps + 1):
        used = optimizers.optimizers[0].param_groups[0]["lr"]
        assert used == pytest.approx(nanogpt_get_lr(step - 1, 1e-3, 100, 5000, 1e-4), rel=1e-12), step
        schedulers.step()


def test_horizon_does_not_follow_training_steps(parse_config):
    job_config = parse_config("mini-gpt.toml")
    lrs = []
    for training_steps in (10, 100_000):
        optimizers = make_container()
        schedulers = build_nanogpt_lr_schedulers(optimizers, job_config.lr_scheduler, training_steps)
        for _ in range(300):
            schedulers.step()
        lrs.append(optimizers.optimizers[0].param_groups[0]["lr"])
    assert lrs[0] == lrs[1]


@pytest.mark.parametrize(
    "overrides, facts",
    [
        (["--lr_scheduler.decay_type", "linear"], ["lr_scheduler.decay_type", "'linear'", '"cosine"']),
        (["--lr_scheduler.decay_ratio", "0.5"], ["lr_scheduler.decay_ratio", "0.5", "unset"]),
        (
            ["--lr_scheduler.total_steps", "100"],
            ["lr_scheduler.total_steps=100 equals lr_scheduler.warmup_steps", "zero by zero at iteration 100"],
        ),
        (["--lr_scheduler.min_lr_factor", "nan"], ["lr_scheduler.min_lr_factor=nan", "finite"]),
    ],
)
def test_settings_nanogpt_cannot_express_are_refused(parse_config, overrides, facts):
    job_config = parse_config("mini-gpt.toml", *overrides)
    with pytest.raises(NanoGPTTitanError) as raised:
        build_nanogpt_lr_schedulers(make_container(), job_config.lr_scheduler, 101)
    assert all(fact in str(raised.value) for fact in facts), str(raised.value)


@pytest.mark.parametrize(
    "overrides, training_steps",
    [
        (["--lr_scheduler.min_lr_factor", "1.5"], 10),
        (["--lr_scheduler.min_lr_factor", "-0.1"], 10),
        (["--lr_scheduler.total_steps", "60"], 200),  # nanoGPT's max_iters=60 lr_decay_iters=60 with warmup_iters=100
        (["--lr_scheduler.total_steps", "100"], 100),  # warmup == horizon, but the run never reaches iteration 100
    ],
)
def test_schedules_nanogpt_runs_are_accepted(parse_config, nanogpt_get_lr, overrides, training_steps):
    job_config = parse_config("mini-gpt.toml", *overrides)
    optimizers, scheduler = make_container(), job_config.lr_scheduler
    schedulers = build_nanogpt_lr_schedulers(optimizers, scheduler, training_steps)
    for step in range(1, training_steps + 1):
        expected = nanogpt_get_lr(step - 1, 1e-3, 100, scheduler.total_steps, 1e-3 * scheduler.min_lr_factor)
        assert optimizers.optimizers[0].param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12), step
        schedulers.step()


def test_missing_horizon_is_refused(parse_config):
    job_config = parse_config("mini-gpt.toml")
    job_config.lr_scheduler.total_steps = None
    with pytest.raises(NanoGPTTitanError, match="lr_scheduler.total_steps is not set: it is nanoGPT's lr_decay_iters"):
        build_nanogpt_lr_schedulers(make_container(), job_config.lr_scheduler, 10)
