"""The TrainSpec's `parallelize_fn`: torchtitan 0.2's settings read into the package's one
parallelisation (`nanogpt_titan.parallel.parallelize`), with torchtitan's `apply_ac`."""

import functools

import torch.nn as nn
from torchtitan.config import JobConfig
from torchtitan.distributed import ParallelDims
from torchtitan.distributed.activation_checkpoint import apply_ac

from nanogpt_titan.hosts.v0_2.settings import batch_settings
from nanogpt_titan.parallel import SAC_SAVED_OPS, Parallelism, model_parallel_refusals, parallelize, refuse_unsupported


def parallelize_nanogpt(model: nn.Module, parallel_dims: ParallelDims, job_config: JobConfig) -> nn.Module:
    """The TrainSpec's `parallelize_fn`: activation checkpointing per block (full or selective,
    torchtitan's), compile per block, then FSDP/HSDP or DDP over the data-parallel ranks."""
    ac, compile_config, training = job_config.activation_checkpoint, job_config.compile, job_config.training
    compiled = compile_config.enable and "model" in compile_config.components
    refuse_unsupported(
        {
            **model_parallel_refusals(parallel_dims),
            f"model converters such as float8 (model.converters={job_config.model.converters}): nanoGPT trains "
            "in float32 or bfloat16": bool(job_config.model.converters),
            "training.enable_cpu_offload: the model fits a device": training.enable_cpu_offload,
            "activation_checkpoint.mode='memory_budget' without compile (set compile.enable, model in "
            "compile.components)": ac.mode == "memory_budget" and not compiled,
            "activation checkpointing with dropout that recomputes other masks (set "
            "activation_checkpoint.preserve_rng_state = true)": (
                ac.mode != "none" and model.model_args.dropout > 0 and not ac.preserve_rng_state
            ),
        }
    )
    checkpointing = functools.partial(
        apply_ac,
        ac_config=ac,
        model_compile_enabled=compiled,
        op_sac_save_list=SAC_SAVED_OPS,
        base_folder=job_config.job.dump_folder,
    )
    return parallelize(
        model,
        parallel_dims,
        Parallelism(
            activation_checkpointing=None if ac.mode == "none" else checkpointing,
            compile_backend=compile_config.backend if compiled else None,
            param_dtype=training.mixed_precision_param,
            reduce_dtype=training.mixed_precision_reduce,
            # "default" reshards after forward, as llama3's does without pipeline parallelism (refused here).
            reshard_after_forward=job_config.parallelism.fsdp_reshard_after_forward != "never",
            micro_batches=batch_settings(job_config).micro_batches,
        ),
    )
