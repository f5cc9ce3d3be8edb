"""Fixtures of the 0.2 adapter's tests: torchtitan 0.2's own configs and parallel dimensions."""

import pytest

from nanogpt_titan.hosts import TRAIN_CONFIGS


@pytest.fixture(scope="session")
def parallel_dims():
    """torchtitan's ParallelDims: a single device unless degrees are given."""
    from torchtitan.distributed import ParallelDims

    def dims(world_size: int = 1, **degrees) -> ParallelDims:
        single = dict(dp_replicate=1, dp_shard=1, cp=1, tp=1, pp=1, ep=1, etp=1, world_size=world_size)
        return ParallelDims(**(single | degrees))

    return dims


@pytest.fixture
def parse_config():
    """Parse a shipped train config plus CLI overrides into a torchtitan JobConfig."""
    from torchtitan.config import ConfigManager

    def parse(config_name: str, *overrides: str):
        args = ["--job.config_file", str(TRAIN_CONFIGS / config_name), *overrides]
        return ConfigManager().parse_args(args)

    return parse
