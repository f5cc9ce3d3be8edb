"""torch.compile as `parallelize_nanogpt` applies it (per block, fullgraph), on CPU."""

import copy
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch._dynamo.utils import counters

from nanogpt_titan.infra.parallelize import parallelize_nanogpt
from nanogpt_titan.optimizer import NanoGPTAdamW
from nanogpt_titan.train_spec import nanogpt_args

pytestmark = pytest.mark.slow


@pytest.fixture
def eager_and_compiled(build_model, parse_config, parallel_dims):
    torch._dynamo.reset()
    eager = build_model(replace(nanogpt_args["debugmodel"], vocab_size=65, n_layer=3))
    compiled = parallelize_nanogpt(copy.deepcopy(eager), parallel_dims(), parse_config("debug_model.toml", "--compile.enable"))
    yield eager, compiled
    torch._dynamo.reset()


def test_every_block_is_compiled_and_gives_eager_logits(eager_and_compiled):
    eager, compiled = eager_and_compiled
    assert all(block._compiled_call_impl is not None for block in compiled.layers.values())
    assert eager.layers["0"]._compiled_call_impl is None
    tokens = torch.randint(0, 65, (4, 64))
    with torch.no_grad():
        torch.testing.assert_close(compiled(tokens), eager(tokens), atol=1e-5, rtol=1e-5)


def test_compiled_training_follows_eager_and_never_recompiles(eager_and_compiled):
    batches = [torch.randint(0, 65, (4, 65), generator=torch.Generator().manual_seed(0))] * 4  # learnable

    def losses(model):
        optimizer = NanoGPTAdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
        for step, batch in enumerate(batches):
            if step == 1:  # the first step compiled forward and backward; nothing may compile again
                graphs_after_first_step = counters["stats"]["unique_graphs"]
            loss = F.cross_entropy(model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
            yield loss.item()
        assert counters["stats"]["unique_graphs"] == graphs_after_first_step

    eager, compiled = eager_and_compiled
    expected = list(losses(eager))
    with torch._dynamo.config.patch(error_on_recompile=True):
        got = list(losses(compiled))
    assert got == pytest.approx(expected, rel=1e-5)
    assert expected[-1] < expected[0]


def test_trainer_with_compile_enabled_matches_eager(run_trainer, tmp_path):
    """Through torchtitan's Trainer: compiled blocks and compiled loss, the eager losses."""
    common = ["--training.steps", "4", "--validation.freq", "4"]
    eager = run_trainer("debug_model.toml", *common, dump_folder=tmp_path / "eager")
    compiled = run_trainer("debug_model.toml", "--compile.enable", *common, dump_folder=tmp_path / "compiled")
    assert [r["step"] for r in compiled] == [r["step"] for r in eager]
    for key in ("loss", "grad_norm", "val_loss"):
        logged = [(c[key], e[key]) for c, e in zip(compiled, eager) if key in e]
        assert logged and [key in c for c in compiled] == [key in e for e in eager], key
        assert [c for c, _ in logged] == pytest.approx([e for _, e in logged], rel=1e-5), key
