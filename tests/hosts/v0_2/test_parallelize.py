"""`parallelize_nanogpt`: activation checkpointing and torch.compile per block (fullgraph); every
parallelism but data parallelism refused by name (data parallelism: test_data_parallel.py)."""

import copy
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch._dynamo.utils import counters

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.parallelize import parallelize_nanogpt
from nanogpt_titan.hosts.v0_2.train_spec import nanogpt_args
from nanogpt_titan.optim import NanoGPTAdamW


@pytest.fixture
def debug_model(build_model):
    return build_model(replace(nanogpt_args["debugmodel"], vocab_size=65))


@pytest.mark.parametrize(
    "degrees, overrides, setting",
    [
        (dict(world_size=2, tp=2), [], "parallelism.tensor_parallel_degree=2"),
        (dict(world_size=2, pp=2), [], "parallelism.pipeline_parallel_degree=2"),
        (dict(world_size=2, cp=2), [], "parallelism.context_parallel_degree=2"),
        (dict(world_size=2, dp_shard=2, ep=2), [], "parallelism.expert_parallel_degree=2"),
        (dict(), ["--model.converters", "quantize.linear.float8"], "model.converters="),
        (dict(), ["--training.enable_cpu_offload"], "training.enable_cpu_offload"),
        (dict(), [], None),
    ],
)
def test_unsupported_parallelism_is_refused_by_name(
    parse_config, parallel_dims, debug_model, degrees, overrides, setting
):
    job_config = parse_config("debug_model.toml", *overrides)
    if setting is None:
        assert parallelize_nanogpt(debug_model, parallel_dims(**degrees), job_config) is debug_model
        return
    with pytest.raises(NanoGPTTitanError, match=setting.replace("[", r"\[").replace("(", r"\(")):
        parallelize_nanogpt(debug_model, parallel_dims(**degrees), job_config)


def test_activation_checkpointing_with_dropout_needs_the_rng_preserved(parse_config, parallel_dims, build_model):
    model = build_model(replace(nanogpt_args["debugmodel"], vocab_size=65, dropout=0.1))
    with pytest.raises(NanoGPTTitanError, match="set activation_checkpoint.preserve_rng_state = true"):
        parallelize_nanogpt(
            model,
            parallel_dims(),
            parse_config(
                "debug_model.toml",
                "--activation_checkpoint.mode",
                "full",
                "--activation_checkpoint.no-preserve-rng-state",
            ),
        )


@pytest.mark.parametrize(
    "ac_settings",
    [
        ["--activation_checkpoint.mode", "full"],
        ["--activation_checkpoint.mode", "selective", "--activation_checkpoint.selective_ac_option", "op"],
        ["--activation_checkpoint.mode", "selective", "--activation_checkpoint.selective_ac_option", "1"],
    ],
    ids=["full", "selective-op", "selective-every-layer"],
)
def test_activation_checkpointing_changes_nothing_but_memory(parse_config, parallel_dims, build_model, ac_settings):
    """Recomputed blocks (dropout on, its RNG preserved) give the plain model's loss and gradients."""
    plain = build_model(replace(nanogpt_args["debugmodel"], vocab_size=65, dropout=0.1))
    job_config = parse_config("debug_model.toml", *ac_settings, "--activation_checkpoint.preserve_rng_state")
    checkpointed = parallelize_nanogpt(copy.deepcopy(plain), parallel_dims(), job_config)
    assert all(type(block).__name__ == "CheckpointWrapper" for block in checkpointed.layers.values())
    batch = torch.randint(0, 65, (4, 65), generator=torch.Generator().manual_seed(0))
    losses = []
    for model in (plain, checkpointed):
        torch.manual_seed(1)  # the same dropout masks for both
        loss = F.cross_entropy(model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())
        loss.backward()
        losses.append(loss.item())
    assert losses[0] == losses[1]
    for expected, got in zip(plain.parameters(), checkpointed.parameters(), strict=True):
        torch.testing.assert_close(got.grad, expected.grad, rtol=0, atol=1e-6)


@pytest.fixture
def eager_and_compiled(build_model, parse_config, parallel_dims):
    torch._dynamo.reset()
    eager = build_model(replace(nanogpt_args["debugmodel"], vocab_size=65, n_layer=3))
    compiled = parallelize_nanogpt(
        copy.deepcopy(eager), parallel_dims(), parse_config("debug_model.toml", "--compile.enable")
    )
    yield eager, compiled
    torch._dynamo.reset()


@pytest.mark.slow
def test_every_block_is_compiled_and_gives_eager_logits(eager_and_compiled):
    eager, compiled = eager_and_compiled
    assert all(block._compiled_call_impl is not None for block in compiled.layers.values())
    assert eager.layers["0"]._compiled_call_impl is None
    tokens = torch.randint(0, 65, (4, 64))
    with torch.no_grad():
        torch.testing.assert_close(compiled(tokens), eager(tokens), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
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


@pytest.mark.parametrize("mode", ["rank_invariant", "nanogpt"])
def test_fsdp_initialises_sharded_weights_as_the_plain_model(build_model, mode):
    """FSDP on a one-rank gloo mesh, in this process: every weight a DTensor, drawn whole (two ranks:
    test_data_parallel.py's probe); with nanoGPT's randomness, its weights wherever they are,
    and the generator where nanoGPT's init leaves it."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor

    from nanogpt_titan.model import NanoGPT
    from nanogpt_titan.nanogpt_draws import initial_weights
    from nanogpt_titan.parallel import apply_fsdp
    from nanogpt_titan.randomness import Randomness

    args = replace(nanogpt_args["debugmodel"], vocab_size=65)
    initialise = Randomness(mode, 1337).model_initialiser()
    torch.manual_seed(3)
    plain = build_model(args, initialise).state_dict()
    generator_after_plain = torch.get_rng_state()
    if mode == "nanogpt":
        assert all(torch.equal(plain[name], weight) for name, weight in initial_weights(args, 1337)[0].items())
        assert torch.equal(generator_after_plain, initial_weights(args, 1337)[1])
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        with torch.device("meta"):
            model = NanoGPT(args, initialise)
        apply_fsdp(model, init_device_mesh("cpu", (1,)), torch.float32, torch.float32, reshard_after_forward=True)
        model.to_empty(device="cpu")
        torch.manual_seed(3)
        with torch.no_grad():
            model.init_weights()
        assert all(isinstance(weight, DTensor) for weight in model.state_dict().values())
        for name, weight in model.state_dict().items():
            assert torch.equal(weight.full_tensor(), plain[name]), name
        assert torch.equal(torch.get_rng_state(), generator_after_plain)
    finally:
        dist.destroy_process_group()
