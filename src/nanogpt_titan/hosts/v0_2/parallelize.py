"""The TrainSpec's `parallelize_fn`, in torchtitan's order: activation checkpointing
(torchtitan's `apply_ac`), compile, then data parallelism (DDP, FSDP2, or both as HSDP),
summed exactly (`nanogpt_titan.parallel`)."""

import torch
import torch.nn as nn
from torchtitan.config import TORCH_DTYPE_MAP, JobConfig
from torchtitan.distributed import ParallelDims
from torchtitan.distributed.activation_checkpoint import apply_ac
from torchtitan.tools import utils as tt_utils
from torchtitan.tools.logging import logger

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.dataloader import accumulation_steps
from nanogpt_titan.parallel import SAC_SAVED_OPS, apply_ddp, apply_fsdp, compile_blocks, model_parallel_refusals

def _unsupported_settings(model: nn.Module, parallel_dims: ParallelDims, job_config: JobConfig) -> list[str]:
    refused = {
        **model_parallel_refusals(parallel_dims),
        f"model converters such as float8 (model.converters={job_config.model.converters}): nanoGPT trains "
        "in float32 or bfloat16": bool(job_config.model.converters),
        "training.enable_cpu_offload: the model fits a device": job_config.training.enable_cpu_offload,
        "activation_checkpoint.mode='memory_budget' without compile (set compile.enable, model in "
        "compile.components)": job_config.activation_checkpoint.mode == "memory_budget" and not (
            job_config.compile.enable and "model" in job_config.compile.components
        ),
        "activation checkpointing with dropout that recomputes other masks (set "
        "activation_checkpoint.preserve_rng_state = true)": (
            job_config.activation_checkpoint.mode != "none" and model.model_args.dropout > 0
            and not job_config.activation_checkpoint.preserve_rng_state
        ),
    }
    return [setting for setting, enabled in refused.items() if enabled]


def parallelize_nanogpt(model: nn.Module, parallel_dims: ParallelDims, job_config: JobConfig) -> nn.Module:
    """The TrainSpec's `parallelize_fn`: activation checkpointing per block (full or selective,
    torchtitan's), compile per block, then FSDP/HSDP or DDP over the data-parallel ranks."""
    refused = _unsupported_settings(model, parallel_dims, job_config)
    if refused:
        raise NanoGPTTitanError(
            "The nanogpt model trains with data parallelism (DDP, FSDP, HSDP), torch.compile and activation "
            "checkpointing; unsupported: " + "; ".join(refused)
        )
    compile_config = job_config.compile
    compile_model = compile_config.enable and "model" in compile_config.components
    if job_config.activation_checkpoint.mode != "none":
        apply_ac(model, job_config.activation_checkpoint, model_compile_enabled=compile_model,
                 op_sac_save_list=SAC_SAVED_OPS, base_folder=job_config.job.dump_folder)
    if compile_model:
        compile_blocks(model, compile_config.backend)
        logger.info(f"Compiled {len(model.layers)} nanoGPT blocks with torch.compile")
    if parallel_dims.fsdp_enabled:
        training = job_config.training
        on_cpu = tt_utils.device_type == "cpu"  # CPU runs train in float32, as the rest of the CPU path
        param_dtype = torch.float32 if on_cpu else TORCH_DTYPE_MAP[training.mixed_precision_param]
        reduce_dtype = TORCH_DTYPE_MAP[training.mixed_precision_reduce]
        apply_fsdp(
            model,
            parallel_dims.get_mesh(["dp_replicate", "fsdp"] if parallel_dims.dp_replicate_enabled else "fsdp"),
            param_dtype, reduce_dtype,
            # "default" reshards after forward, as llama3's does without pipeline parallelism (refused here).
            reshard_after_forward=job_config.parallelism.fsdp_reshard_after_forward != "never",
        )
        logger.info(f"Applied {'HSDP' if parallel_dims.dp_replicate_enabled else 'FSDP'} to the nanoGPT model: "
                    f"computes in {param_dtype}, reduces gradients in {reduce_dtype}")
    elif parallel_dims.dp_replicate_enabled:
        dp_mesh = parallel_dims.get_mesh("dp_replicate")
        apply_ddp(model, dp_mesh, accumulation_steps(job_config, dp_mesh.size()), compile_model)
        logger.info("Applied DDP to the model")
    return model
