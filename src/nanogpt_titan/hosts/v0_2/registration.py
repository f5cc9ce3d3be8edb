"""torchtitan 0.2's plugin, which `[experimental] custom_import = "nanogpt_titan.plugin"` loads.

This module is the only place where nanogpt_titan changes torchtitan 0.2. Importing it

- registers the `nanogpt` TrainSpec (`nanogpt_titan.hosts.v0_2.train_spec`), and
- on a machine without CUDA, adapts torchtitan 0.2.2, which assumes an accelerator, by
  rebinding in torchtitan's modules (never in its files; all but the autocast as for every
  release, `nanogpt_titan.hosts.cpu_adaptation`):
  - the device type (torchtitan falls back to "cuda" and binds that name at import in
    `tools.utils`, `distributed.utils`, `distributed.parallel_dims`, `components.metrics`);
  - `set_pg_timeouts`, whose barrier passes `device_ids`, which gloo rejects;
  - the device memory monitor, which asserts CUDA: peak RSS stands in for device memory;
  - the peak-FLOPs lookup, which shells out to `lspci`: a CPU run reports MFU against the
    A100 bf16 peak (312 TFLOP/s), exactly as nanoGPT's `estimate_mfu` does on any device;
  - bf16 autocast, which `training.mixed_precision_param = "bfloat16"` (torchtitan's default)
    would turn on for a single CPU process: slower and different numbers, so CPU runs stay fp32;
  - and, at exit, a moment for gloo's worker threads to release their last collective before
    the interpreter shuts down (`let_gloo_release_its_last_work`).

It prepares the training process as every host's entry point does
(`nanogpt_titan.hosts.training_process`): a command without torchrun is a job of one process,
and a user error, an interruption or a rank left waiting ends the run in one line. torchtitan
0.2's log line of the model it builds gets the space its format string lacks before "with".

The other CPU-only break, the triton import, must be handled before torchtitan is first
imported: `nanogpt_titan.triton_guard`, loaded at interpreter start by `nanogpt_titan.pth`.
"""

import contextlib
import logging

import torchtitan.distributed.utils as tt_dist_utils
from torchtitan.protocols.train_spec import register_train_spec
from torchtitan.tools.logging import logger

from nanogpt_titan.hosts import cpu_adaptation
from nanogpt_titan.hosts.training_process import prepare_training_process
from nanogpt_titan.hosts.v0_2.train_spec import get_train_spec

TRAIN_SPEC_NAME = "nanogpt"


def _fp32_on_cpu(parallel_dims, mixed_precision_param: str, device_type: str):
    if mixed_precision_param != "float32":
        logger.info(
            f"training.mixed_precision_param={mixed_precision_param!r} ignored on CPU: "
            "CPU runs train in float32, as nanoGPT does."
        )
    return contextlib.nullcontext()


def adapt_torchtitan_to_cpu() -> None:
    """Rebind torchtitan's device assumptions for a machine without CUDA (see the module doc):
    those of every release, and 0.2's bf16 autocast."""
    cpu_adaptation.adapt_torchtitan_to_cpu()
    tt_dist_utils.maybe_enable_amp = _fp32_on_cpu


class SpacedBuildingLine(logging.Filter):
    """torchtitan 0.2 logs "Building nanogpt <flavor>with {...}": the space goes back."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Building ") and "with {" in record.msg:
            record.msg = record.msg.replace("with {", " with {", 1).replace("  with {", " with {", 1)
        return True


prepare_training_process(adapt_torchtitan_to_cpu)
if not any(isinstance(each, SpacedBuildingLine) for each in logger.filters):
    logger.addFilter(SpacedBuildingLine())
try:
    register_train_spec(TRAIN_SPEC_NAME, get_train_spec())
except ValueError:
    pass  # registered by an earlier import of this module (importlib.reload runs it again)
