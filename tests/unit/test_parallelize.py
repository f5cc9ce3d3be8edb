from dataclasses import replace

import pytest

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.infra.parallelize import parallelize_nanogpt
from nanogpt_titan.train_spec import nanogpt_args


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
        (dict(world_size=2, dp_shard=-1), [], "parallelism.data_parallel_shard_degree=2"),
        (dict(world_size=2, dp_replicate=2), [], "parallelism.data_parallel_replicate_degree=2"),
        (dict(), ["--activation_checkpoint.mode", "full"], "activation_checkpoint.mode='full'"),
        (dict(), ["--model.converters", "quantize.linear.float8"], "model.converters="),
        (dict(), [], None),
    ],
)
def test_unsupported_parallelism_is_refused_by_name(parse_config, parallel_dims, debug_model, degrees, overrides, setting):
    job_config = parse_config("debug_model.toml", *overrides)
    if setting is None:
        assert parallelize_nanogpt(debug_model, parallel_dims(**degrees), job_config) is debug_model
        return
    with pytest.raises(NanoGPTTitanError, match=setting.replace("[", r"\[").replace("(", r"\(")):
        parallelize_nanogpt(debug_model, parallel_dims(**degrees), job_config)


def test_a_world_without_data_parallel_wrapper_is_refused(parse_config, parallel_dims, debug_model):
    with pytest.raises(NanoGPTTitanError, match="a world of 2 processes without a data-parallel wrapper"):
        parallelize_nanogpt(debug_model, parallel_dims(2, dp_shard=2), parse_config("debug_model.toml"))


def test_default_activation_checkpointing_is_refused_with_the_fix(parse_config, parallel_dims, debug_model):
    job_config = parse_config("debug_model.toml", "--activation_checkpoint.mode", "selective")
    with pytest.raises(NanoGPTTitanError, match='set it to "none"'):
        parallelize_nanogpt(debug_model, parallel_dims(), job_config)
