"""Parallelising the nanoGPT model, in torch alone, in torchtitan's order (`parallelize`):
activation checkpointing, compile per block, then data parallelism: FSDP2 grouped for the tied
head, HSDP, or DDP that sums gradients once per step. Each host adapter's `parallelize_fn`
reads its settings into this.

torchtitan divides each micro-batch's summed loss by the global token count, so gradients must
be summed across ranks, never averaged: then N ranks train exactly as one process that
accumulates their N micro-batches.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.distributed import DeviceMesh
from torch.distributed._composable.replicate import replicate
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard

from nanogpt_titan.errors import NanoGPTTitanError

logger = logging.getLogger(__name__)

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


def model_parallel_refusals(parallel_dims) -> dict[str, bool]:
    """The parallelisms the model refuses (setting, reason -> whether asked for), from either
    host's `ParallelDims`: data parallelism scales a model of nanoGPT's sizes."""
    return {
        f"tensor parallel (parallelism.tensor_parallel_degree={parallel_dims.tp}): a model of nanoGPT's sizes "
        "fits one device, so data parallelism scales it": parallel_dims.tp > 1,
        f"pipeline parallel (parallelism.pipeline_parallel_degree={parallel_dims.pp}): the model has no "
        "pipelining_fn": parallel_dims.pp > 1,
        f"context parallel (parallelism.context_parallel_degree={parallel_dims.cp}): nanoGPT's contexts are "
        "at most 1024 tokens": parallel_dims.cp > 1,
        f"expert parallel (parallelism.expert_parallel_degree={parallel_dims.ep}): nanoGPT has no experts": (
            parallel_dims.ep > 1
        ),
    }


def refuse_unsupported(refusals: dict[str, bool]) -> None:
    """Refuse, in one line, every setting (described with its reason) that is asked for."""
    refused = [setting for setting, asked in refusals.items() if asked]
    if refused:
        raise NanoGPTTitanError(
            "The nanogpt model trains with data parallelism (DDP, FSDP, HSDP), torch.compile and activation "
            "checkpointing; unsupported: " + "; ".join(refused)
        )


@dataclass(frozen=True)
class Parallelism:
    """What `parallelize` applies, from a host's settings."""

    activation_checkpointing: Callable[[nn.Module], None] | None  # the host's, applied per block
    compile_backend: str | None  # None: eager
    param_dtype: str  # FSDP's compute dtype on a GPU (mixed_precision_param); a CPU computes in float32
    reduce_dtype: str  # FSDP's gradient reduction dtype (mixed_precision_reduce)
    reshard_after_forward: bool
    micro_batches: Callable[[int], int]  # per rank and step, for data-parallel degree N


def parallelize(model: nn.Module, parallel_dims, parallelism: Parallelism) -> nn.Module:
    """`parallelism` on `model` in torchtitan's order, over the ranks of `parallel_dims` (any
    host's `ParallelDims`): activation checkpointing, compile, then FSDP/HSDP or DDP."""
    if parallelism.activation_checkpointing is not None:
        parallelism.activation_checkpointing(model)
    if parallelism.compile_backend is not None:
        compile_blocks(model, parallelism.compile_backend)
        logger.info(f"Compiled {len(model.layers)} nanoGPT blocks with torch.compile")
    if parallel_dims.fsdp_enabled:
        # A CPU computes in float32, as the rest of the CPU path.
        param_dtype = getattr(torch, parallelism.param_dtype) if torch.cuda.is_available() else torch.float32
        reduce_dtype = getattr(torch, parallelism.reduce_dtype)
        mesh = parallel_dims.get_mesh(["dp_replicate", "fsdp"] if parallel_dims.dp_replicate_enabled else "fsdp")
        apply_fsdp(model, mesh, param_dtype, reduce_dtype, parallelism.reshard_after_forward)
        logger.info(
            f"Applied {'HSDP' if parallel_dims.dp_replicate_enabled else 'FSDP'} to the nanoGPT model: "
            f"computes in {param_dtype}, reduces gradients in {reduce_dtype}"
        )
    elif parallel_dims.dp_replicate_enabled:
        dp_mesh = parallel_dims.get_mesh("dp_replicate")
        apply_ddp(model, dp_mesh, parallelism.micro_batches(dp_mesh.size()), parallelism.compile_backend is not None)
        logger.info("Applied DDP to the nanoGPT model: gradients summed over ranks once per step")
    return model


def compile_blocks(model: nn.Module, backend: str) -> None:
    """Per block with fullgraph=True, as torchtitan's llama3, not the whole model as nanoGPT:
    the blocks are identical, so one graph is traced and reused for all of them."""
    for block in model.layers.values():
        block.compile(backend=backend, fullgraph=True)


def apply_fsdp(
    model: nn.Module,
    dp_mesh: DeviceMesh,
    param_dtype: torch.dtype,
    reduce_dtype: torch.dtype,
    reshard_after_forward: bool,
) -> None:
    """FSDP2 as torchtitan's llama3, a group per block, but with the embeddings, the final
    LayerNorm and the head all in the root group: the head's weight is the token embedding's,
    and a tied weight must live in one group. Gradients are summed, not averaged."""
    fsdp_config = {
        "mesh": dp_mesh,
        "mp_policy": MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=reduce_dtype),
    }
    for block in model.layers.values():
        fully_shard(block, **fsdp_config, reshard_after_forward=reshard_after_forward)
    fully_shard(model, **fsdp_config)
    sum_with_gloo = dist.get_backend(dp_mesh.get_group(0)) == "gloo"
    for module in model.modules():
        if isinstance(module, FSDPModule):
            module.set_gradient_divide_factor(1.0)
            if sum_with_gloo:
                # A divide factor of 1 is NCCL's PREMUL_SUM, which gloo lacks: plain SUM, then scale by 1.
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


def apply_ddp(model: nn.Module, dp_mesh: DeviceMesh, micro_batches: int, compiled: bool) -> None:
    """DDP (torch's `replicate`, as torchtitan's llama3) whose gradients are summed over the
    ranks after each step's last micro-batch."""
    if compiled:
        torch._dynamo.config.optimize_ddp = "ddp_optimizer"
    replicate(model, device_mesh=dp_mesh, bucket_cap_mb=100)
    model.register_comm_hook(GradientSumState(dp_mesh.get_group(), micro_batches), sum_on_last_micro_batch)
