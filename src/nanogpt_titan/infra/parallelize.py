"""The model's transformations, in torchtitan's order: activation checkpointing, then compile.

Both are torchtitan's own (`apply_ac`) or torch's. Every parallelism is refused by name: without
a data-parallel wrapper, replicas in a world of several processes would never synchronise
their gradients and would silently diverge.
"""

import torch
import torch.nn as nn
from torchtitan.config import JobConfig
from torchtitan.distributed import ParallelDims
from torchtitan.distributed.activation_checkpoint import apply_ac
from torchtitan.tools.logging import logger

from nanogpt_titan.errors import NanoGPTTitanError

# Selective activation checkpointing "op": the outputs kept rather than recomputed are those
# of the block's expensive ops, its matmuls (Linear is mm without bias, addmm with) and attention.
SAC_SAVED_OPS = {
    torch.ops.aten.mm.default,
    torch.ops.aten.addmm.default,
    torch.ops.aten._scaled_dot_product_efficient_attention.default,
    torch.ops.aten._scaled_dot_product_flash_attention.default,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default,
    torch.ops.aten._scaled_dot_product_cudnn_attention.default,
}


def _unsupported_settings(model: nn.Module, parallel_dims: ParallelDims, job_config: JobConfig) -> list[str]:
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
        "activation_checkpoint.mode='memory_budget' without compile (set compile.enable, model in "
        "compile.components)": job_config.activation_checkpoint.mode == "memory_budget" and not (
            job_config.compile.enable and "model" in job_config.compile.components
        ),
        "activation checkpointing with dropout that recomputes other masks (set "
        "activation_checkpoint.preserve_rng_state = true)": (
            job_config.activation_checkpoint.mode != "none" and model.model_args.dropout > 0
            and not job_config.activation_checkpoint.preserve_rng_state
        ),
        f"model converters such as float8 (model.converters={job_config.model.converters})": bool(
            job_config.model.converters
        ),
        f"a world of {parallel_dims.world_size} processes without a data-parallel wrapper "
        "(run with NGPU=1)": parallel_dims.world_size > 1,
    }
    return [setting for setting, enabled in refused.items() if enabled]


def parallelize_nanogpt(model: nn.Module, parallel_dims: ParallelDims, job_config: JobConfig) -> nn.Module:
    """The TrainSpec's `parallelize_fn`: activation checkpointing per block (full or selective,
    torchtitan's), then compile each block when `compile.enable` is set."""
    refused = _unsupported_settings(model, parallel_dims, job_config)
    if refused:
        raise NanoGPTTitanError(
            "The nanogpt model trains on a single device, with torch.compile and activation checkpointing; "
            "unsupported: " + "; ".join(refused)
        )
    compile_config = job_config.compile
    compile_model = compile_config.enable and "model" in compile_config.components
    if job_config.activation_checkpoint.mode != "none":
        apply_ac(model, job_config.activation_checkpoint, model_compile_enabled=compile_model,
                 op_sac_save_list=SAC_SAVED_OPS, base_folder=job_config.job.dump_folder)
    if compile_model:
        # Per block with fullgraph=True, as torchtitan's llama3, not the whole model as nanoGPT:
        # the blocks are identical, so one graph is traced and reused for all of them; it
        # compiles faster and runs as fast (measurements: docs/performance.md).
        for block in model.layers.values():
            block.compile(backend=compile_config.backend, fullgraph=True)
        logger.info(f"Compiled {len(model.layers)} nanoGPT blocks with torch.compile")
    return model
