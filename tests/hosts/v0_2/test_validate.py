"""nanoGPT's validation: estimate_loss on both splits, the exact loss at the end, from the run's seed."""

import logging

import pytest
import torch
import torch.nn.functional as F

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.settings import run_data


def test_validator_reports_direct_evaluations_of_both_splits(parse_config, build_model, caplog):
    from contextlib import nullcontext
    from dataclasses import replace

    from torchtitan.components.loss import cross_entropy_loss

    from nanogpt_titan.hosts.v0_2.train_spec import nanogpt_args
    from nanogpt_titan.hosts.v0_2.validate import build_nanogpt_validator

    class Recorder:
        def log_validation(self, loss, step, extra_metrics=None):
            self.logged = {"step": step, "val_loss": loss, **extra_metrics}

    job_config = parse_config("debug_model.toml", "--validation.steps", "3")
    recorder = Recorder()
    validator = build_nanogpt_validator(
        job_config=job_config,
        dp_world_size=1,
        dp_rank=0,
        tokenizer=None,
        parallel_dims=None,
        loss_fn=cross_entropy_loss,
        validation_context=nullcontext,
        maybe_enable_amp=nullcontext(),
        metrics_processor=recorder,
    )
    model = build_model(replace(nanogpt_args["debugmodel"], vocab_size=65))
    model.train()
    data = run_data(job_config)
    splits = {"shakespeare_char_validation": data.split("val"), "shakespeare_char_train": data.split("train")}

    def direct_loss(tokens):
        batches = list(validator.batches(tokens))
        assert len(batches) == 3
        with torch.no_grad():
            model.eval()
            losses = [F.cross_entropy(model(x).flatten(0, 1), y.flatten()) for x, y in batches]
            model.train()
        return torch.stack(losses).mean().item()

    validator.validate([model], step=7)
    assert recorder.logged["step"] == 7
    assert recorder.logged["val_loss"] == pytest.approx(direct_loss(splits["shakespeare_char_validation"]), abs=1e-6)
    assert recorder.logged["train_loss_estimate"] == pytest.approx(
        direct_loss(splits["shakespeare_char_train"]), abs=1e-6
    )
    assert recorder.logged["val_loss"] != recorder.logged["train_loss_estimate"]
    validator.validate([model], step=8)
    assert recorder.logged["val_loss"] == pytest.approx(direct_loss(splits["shakespeare_char_validation"]), abs=1e-6)
    assert model.training  # evaluation restores train mode
    assert "val_loss_exact" not in recorder.logged

    with caplog.at_level(logging.INFO):
        validator.validate([model], step=100)  # debug_model.toml's last step: the exact loss as well
    val = splits["shakespeare_char_validation"]
    batches = -(-((len(val) - 1) // 64) // 8)  # windows of 64 tokens, in batches of 8
    assert [m.split(" (")[0] for m in caplog.messages if m.startswith("exact validation loss")] == [
        f"exact validation loss: {done:,}/{batches} batches" for done in (*range(21, batches, 21), batches)
    ]
    covered = (len(val) - 1) // 64 * 64
    ids = val.read(0, covered + 1)
    with torch.no_grad():
        model.eval()
        exact = F.cross_entropy(model(ids[:-1].view(-1, 64)).flatten(0, 1), ids[1:])
        model.train()
    assert recorder.logged["val_loss_exact"] == pytest.approx(exact.item(), abs=1e-6)


@pytest.mark.parametrize("overrides, seed", [([], 1337), (["--debug.seed", "7"], 7)])
def test_validator_draws_its_batches_from_the_run_seed(parse_config, overrides, seed):
    from nanogpt_titan.evaluate import random_batches
    from nanogpt_titan.hosts.v0_2.validate import build_nanogpt_validator

    job_config = parse_config("debug_model.toml", *overrides)
    validator = build_nanogpt_validator(
        job_config=job_config, tokenizer=None, maybe_enable_amp=None, metrics_processor=None
    )
    drawn = [x for x, _ in validator.batches(validator.settings.val_tokens)]
    expected = [x for x, _ in random_batches(validator.settings.val_tokens, 64, 8, 5, seed=seed)]
    assert len(drawn) == 5 and all(torch.equal(a, b) for a, b in zip(drawn, expected))


def test_a_validation_text_too_short_for_validation_seq_len_is_refused_when_built(parse_config, tmp_path):
    from nanogpt_titan.hosts.v0_2.validate import build_nanogpt_validator

    (tmp_path / "short.txt").write_text("to be or not to be, that is the question\n" * 10)  # 42 validation tokens
    job_config = parse_config(
        "debug_model.toml", "--training.dataset_path", str(tmp_path / "short.txt"), "--training.seq_len", "16"
    )
    with pytest.raises(NanoGPTTitanError, match="validation.seq_len=64"):
        build_nanogpt_validator(job_config=job_config, tokenizer=None, maybe_enable_amp=None, metrics_processor=None)


def test_validation_steps_must_be_positive(parse_config):
    from nanogpt_titan.hosts.v0_2.validate import build_nanogpt_validator

    job_config = parse_config("debug_model.toml", "--validation.steps", "-1")
    with pytest.raises(NanoGPTTitanError, match="validation.steps=-1.*set validation.steps to a positive count"):
        build_nanogpt_validator(job_config=job_config, tokenizer=None, maybe_enable_amp=None, metrics_processor=None)
