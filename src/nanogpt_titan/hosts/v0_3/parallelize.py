"""The model's `parallelize_fn` on torchtitan 0.3, in its order: activation checkpointing,
compile, then data parallelism (DDP, FSDP2, or both as HSDP), summed exactly
(`nanogpt_titan.parallel`)."""

import torch
from torch import nn
from torchtitan.config import TORCH_DTYPE_MAP, CompileConfig, ParallelismConfig, TrainingConfig
from torchtitan.distributed import ParallelDims
from torchtitan.distributed.activation_checkpoint import ActivationCheckpointing
from torchtitan.tools import utils as tt_utils
from torchtitan.tools.logging import logger

from nanogpt_titan.data.datasets import accumulation_steps
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.parallel import apply_ddp, apply_fsdp, compile_blocks, model_parallel_refusals

SPMD_BACKEND = "partial_dtensor"  # DTensors for sharded parameters only, as torchtitan 0.2


def _unsupported_settings(parallel_dims: ParallelDims, training: TrainingConfig, parallelism: ParallelismConfig,
                          draws_as_nanogpt: bool) -> list[str]:
    refused = {
        **model_parallel_refusals(parallel_dims),
        f"parallelism.spmd_backend={parallelism.spmd_backend!r}: the model's modules are torch's own "
        f"(set {SPMD_BACKEND!r})": parallelism.spmd_backend != SPMD_BACKEND,
        "training.enable_cpu_offload: the model fits a device": training.enable_cpu_offload,
        "randomness='nanogpt' with sharded ranks: nanoGPT's draws follow its DDP, rank by rank (pass "
        f"--parallelism.data_parallel_replicate_degree {parallel_dims.dp_shard} "
        "--parallelism.data_parallel_shard_degree 1, or randomness='rank_invariant')": (
            draws_as_nanogpt and parallel_dims.fsdp_enabled
        ),
    }
    return [setting for setting, enabled in refused.items() if enabled]


def parallelize_nanogpt(model: nn.Module, *, parallel_dims: ParallelDims, training: TrainingConfig,
                        parallelism: ParallelismConfig, compile_config: CompileConfig,
                        ac_config: ActivationCheckpointing.Config | None, dump_folder: str) -> nn.Module:
    refused = _unsupported_settings(parallel_dims, training, parallelism, model.model_args.nanogpt_seeds is not None)
    if refused:
        raise NanoGPTTitanError(
            "The nanogpt model trains with data parallelism (DDP, FSDP, HSDP), torch.compile and activation "
            "checkpointing; unsupported: " + "; ".join(refused)
        )
    if ac_config is not None:
        if model.model_args.dropout > 0 and not ac_config.preserve_rng_state:
            raise NanoGPTTitanError(
                "activation checkpointing with dropout would recompute other masks: set "
                "activation_checkpoint.preserve_rng_state"
            )
        ac_config.build(dump_folder=dump_folder).apply(model)
    compiled = compile_config.enable and "model" in compile_config.components
    if compiled:
        compile_blocks(model, compile_config.backend)
        logger.info(f"Compiled {len(model.layers)} nanoGPT blocks with torch.compile")
    if parallel_dims.fsdp_enabled:
        on_cpu = tt_utils.device_type == "cpu"  # CPU runs train in float32, as the rest of the CPU path
        param_dtype = torch.float32 if on_cpu else TORCH_DTYPE_MAP[training.mixed_precision_param]
        reduce_dtype = TORCH_DTYPE_MAP[training.mixed_precision_reduce]
        mesh = parallel_dims.get_mesh(["dp_replicate", "fsdp"] if parallel_dims.dp_replicate_enabled else "fsdp")
        apply_fsdp(model, mesh, param_dtype, reduce_dtype,
                   reshard_after_forward=parallelism.fsdp_reshard_after_forward != "never")
        logger.info(f"Applied {'HSDP' if parallel_dims.dp_replicate_enabled else 'FSDP'} to the nanoGPT model: "
                    f"computes in {param_dtype}, reduces gradients in {reduce_dtype}")
    elif parallel_dims.dp_replicate_enabled:
        dp_mesh = parallel_dims.get_mesh("dp_replicate")
        micro_batches = accumulation_steps(training.local_batch_size, training.global_batch_size, dp_mesh.size())
        apply_ddp(model, dp_mesh, micro_batches, compiled)
        logger.info("Applied DDP to the nanoGPT model: gradients summed over ranks once per step")
    return model
