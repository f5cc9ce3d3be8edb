"""nanoGPT trains on one device: compile is the only transformation applied here.

Every other torchtitan parallelism or model transformation is refused by name: without a
data-parallel wrapper, replicas in a world of several processes would never synchronise
their gradients and would silently diverge.
"""

import torch.nn as nn
from torchtitan.config import JobConfig
from torchtitan.distributed import ParallelDims
from torchtitan.tools.logging import logger

from nanogpt_titan.errors import NanoGPTTitanError


def _unsupported_settings(parallel_dims: ParallelDims, job_config: JobConfig) -> list[str]:
    parallelism = job_config.parallelism
    refused = {
        f"tensor parallel (parallelism.tensor_parallel_degree={parallel_dims.tp})": parallel_dims.tp > 1,
        f"pipeline parallel (parallelism.pipeline_parallel_degree={parallel_dims.pp})": parallel_dims.pp > 1,
        f"context parallel (parallelism.context_parallel_degree={parallel_dims.cp})": parallel_dims.cp > 1,
        f"expert parallel (parallelism.expert_parallel_degree={parallel_dims.ep})": parallel_dims.ep > 1,
        f"FSDP/HSDP (parallelism.data_parallel_shard_degree={parallel_dims.dp_shard}, "
        f"configured {parallelism.data_parallel_shard_degree})": parallel_dims.dp_shard > 1,
        f"DDP (parallelism.data_parallel_replicate_degree={parallel_dims.dp_replicate})": (
            parallel_dims.dp_replicate > 1
        ),
        f"activation checkpointing (activation_checkpoint.mode={job_config.activation_checkpoint.mode!r}; "
        'set it to "none")': job_config.activation_checkpoint.mode != "none",
        f"model converters such as float8 (model.converters={job_config.model.converters})": bool(
            job_config.model.converters
        ),
        f"a world of {parallel_dims.world_size} processes without a data-parallel wrapper "
        "(run with NGPU=1)": parallel_dims.world_size > 1,
    }
    return [setting for setting, enabled in refused.items() if enabled]


def parallelize_nanogpt(model: nn.Module, parallel_dims: ParallelDims, job_config: JobConfig) -> nn.Module:
    """The TrainSpec's `parallelize_fn`: compile each block when `compile.enable` is set."""
    refused = _unsupported_settings(parallel_dims, job_config)
    if refused:
        raise NanoGPTTitanError(
            "The nanogpt model trains on a single device and supports only torch.compile; "
            "unsupported: " + "; ".join(refused)
        )
    compile_config = job_config.compile
    if compile_config.enable and "model" in compile_config.components:
        # Per block with fullgraph=True, as torchtitan's llama3, not the whole model as nanoGPT:
        # the blocks are identical, so one graph is traced and reused for all of them; it
        # compiles faster and runs as fast (measurements: docs/performance.md).
        for block in model.layers.values():
            block.compile(backend=compile_config.backend, fullgraph=True)
        logger.info(f"Compiled {len(model.layers)} nanoGPT blocks with torch.compile")
    return model
