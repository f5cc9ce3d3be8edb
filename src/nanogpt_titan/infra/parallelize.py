"""The model's transformations, in torchtitan's order: activation checkpointing, compile, then
data parallelism (DDP, FSDP2, or both as HSDP).

Activation checkpointing and DDP are torchtitan's own (`apply_ac`, `apply_ddp`); FSDP follows
llama3's `apply_fsdp` with torch's `fully_shard`, grouped for nanoGPT's tied head. torchtitan
divides each micro-batch's summed loss by the global token count, so gradients must be
summed across ranks, never averaged: then N ranks train exactly as one process that
accumulates their N micro-batches.
"""

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.distributed import DeviceMesh
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torchtitan.config import TORCH_DTYPE_MAP, JobConfig
from torchtitan.distributed import ParallelDims
from torchtitan.distributed.activation_checkpoint import apply_ac
from torchtitan.models.llama3.infra.parallelize import (
    apply_ddp,
    disable_fsdp_gradient_division,
)
from torchtitan.tools import utils as tt_utils
from torchtitan.tools.logging import logger

from nanogpt_titan.dataloader import accumulation_steps
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
    refused = {
        f"tensor parallel (parallelism.tensor_parallel_degree={parallel_dims.tp}): a model of nanoGPT's sizes "
        "fits one device, so data parallelism scales it": parallel_dims.tp > 1,
        f"pipeline parallel (parallelism.pipeline_parallel_degree={parallel_dims.pp}): the TrainSpec has no "
        "pipelining_fn": parallel_dims.pp > 1,
        f"context parallel (parallelism.context_parallel_degree={parallel_dims.cp}): nanoGPT's contexts are "
        "at most 1024 tokens": parallel_dims.cp > 1,
        f"expert parallel (parallelism.expert_parallel_degree={parallel_dims.ep}): nanoGPT has no experts": (
            parallel_dims.ep > 1
        ),
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


def apply_fsdp(model: nn.Module, dp_mesh: DeviceMesh, param_dtype: torch.dtype, reduce_dtype: torch.dtype,
               reshard_after_forward_policy: str) -> None:
    """FSDP2 as llama3's `apply_fsdp`, a group per block, but with the embeddings, the final
    LayerNorm and the head all in the root group: the head's weight is the token embedding's,
    and a tied weight must live in one group. Gradients are summed, not averaged."""
    fsdp_config = {"mesh": dp_mesh, "mp_policy": MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=reduce_dtype)}
    # "default" reshards after forward, as llama3's does without pipeline parallelism (refused here).
    reshard_after_forward = reshard_after_forward_policy != "never"
    for block in model.layers.values():
        fully_shard(block, **fsdp_config, reshard_after_forward=reshard_after_forward)
    fully_shard(model, **fsdp_config)
    disable_fsdp_gradient_division(model)
    if dist.get_backend(dp_mesh.get_group(0)) == "gloo":
        # A divide factor of 1 is NCCL's PREMUL_SUM, which gloo lacks: plain SUM, then scale by 1.
        for module in model.modules():
            if isinstance(module, FSDPModule):
                module.set_force_sum_reduction_for_comms(True)


@dataclass
class GradientSumState:
    """What `sum_on_last_micro_batch` needs across its calls."""

    process_group: dist.ProcessGroup
    micro_batches: int
    backward_passes: int = 0


def sum_on_last_micro_batch(state: GradientSumState, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    """DDP communication hook: sum the gradients over ranks once per step, after the step's
    last micro-batch; earlier micro-batches accumulate locally, with no communication.

    DDP's default averages, which would leave gradients N times too small; and a sum on every
    micro-batch would count the already-reduced part of the accumulated gradients N times.
    """
    last_micro_batch = state.backward_passes % state.micro_batches == state.micro_batches - 1
    if bucket.is_last():  # DDP reduces buckets in order: this backward pass is done
        state.backward_passes += 1
    if not last_micro_batch:
        local: torch.futures.Future[torch.Tensor] = torch.futures.Future()
        local.set_result(bucket.buffer())
        return local
    reduction = dist.all_reduce(bucket.buffer(), group=state.process_group, async_op=True).get_future()
    return reduction.then(lambda future: future.value()[0])


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
        # Per block with fullgraph=True, as torchtitan's llama3, not the whole model as nanoGPT:
        # the blocks are identical, so one graph is traced and reused for all of them; it
        # compiles faster and runs as fast (measurements: docs/performance.md).
        for block in model.layers.values():
            block.compile(backend=compile_config.backend, fullgraph=True)
        logger.info(f"Compiled {len(model.layers)} nanoGPT blocks with torch.compile")
    if parallel_dims.fsdp_enabled:
        training = job_config.training
        on_cpu = tt_utils.device_type == "cpu"  # CPU runs train in float32, as the rest of the CPU path
        param_dtype = torch.float32 if on_cpu else TORCH_DTYPE_MAP[training.mixed_precision_param]
        reduce_dtype = TORCH_DTYPE_MAP[training.mixed_precision_reduce]
        apply_fsdp(
            model,
            parallel_dims.get_mesh(["dp_replicate", "fsdp"] if parallel_dims.dp_replicate_enabled else "fsdp"),
            param_dtype, reduce_dtype, job_config.parallelism.fsdp_reshard_after_forward,
        )
        logger.info(f"Applied {'HSDP' if parallel_dims.dp_replicate_enabled else 'FSDP'} to the nanoGPT model: "
                    f"computes in {param_dtype}, reduces gradients in {reduce_dtype}")
    elif parallel_dims.dp_replicate_enabled:
        dp_mesh = parallel_dims.get_mesh("dp_replicate")
        apply_ddp(model, dp_mesh, enable_compile=compile_model)
        state = GradientSumState(dp_mesh.get_group(), accumulation_steps(job_config, dp_mesh.size()))
        model.register_comm_hook(state, sum_on_last_micro_batch)
    return model
