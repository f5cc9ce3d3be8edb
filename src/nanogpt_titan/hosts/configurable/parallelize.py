"""The model's `parallelize_fn` on torchtitan's Configurable API: its settings read into the
package's one parallelisation (`nanogpt_titan.parallel.parallelize`)."""

from collections.abc import Callable

from torch import nn
from torchtitan.config import CompileConfig, ParallelismConfig, TrainingConfig
from torchtitan.distributed import ParallelDims
from torchtitan.distributed.activation_checkpoint import ActivationCheckpointing

from nanogpt_titan.data.datasets import BatchSettings
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.parallel import Parallelism, model_parallel_refusals, parallelize, refuse_unsupported

SPMD_BACKEND = "partial_dtensor"  # DTensors for sharded parameters only, as torchtitan 0.2


def parallelize_nanogpt(
    model: nn.Module,
    *,
    parallel_dims: ParallelDims,
    training: TrainingConfig,
    parallelism: ParallelismConfig,
    compile_config: CompileConfig,
    ac_config: ActivationCheckpointing.Config | None,
    dump_folder: str,
    batch_settings: Callable[[TrainingConfig], BatchSettings],
) -> nn.Module:
    """`batch_settings`: how the release counts a batch (the model spec binds it)."""
    refuse_unsupported(
        {
            **model_parallel_refusals(parallel_dims),
            f"parallelism.spmd_backend={parallelism.spmd_backend!r}: the model's modules are torch's own "
            f"(set {SPMD_BACKEND!r})": parallelism.spmd_backend != SPMD_BACKEND,
            "training.enable_cpu_offload: the model fits a device": training.enable_cpu_offload,
        }
    )
    if ac_config is not None and model.model_args.dropout > 0 and not ac_config.preserve_rng_state:
        raise NanoGPTTitanError(
            "activation checkpointing with dropout would recompute other masks: set "
            "activation_checkpoint.preserve_rng_state"
        )
    compiled = compile_config.enable and "model" in compile_config.components
    return parallelize(
        model,
        parallel_dims,
        Parallelism(
            activation_checkpointing=ac_config and ac_config.build(dump_folder=dump_folder).apply,
            compile_backend=compile_config.backend if compiled else None,
            param_dtype=training.mixed_precision_param,
            reduce_dtype=training.mixed_precision_reduce,
            reshard_after_forward=parallelism.fsdp_reshard_after_forward != "never",
            micro_batches=batch_settings(training).micro_batches,
        ),
    )
