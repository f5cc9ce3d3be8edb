"""The TrainSpec's metrics processor: torchtitan 0.2's, keeping `metrics.jsonl` and the run
summary (`nanogpt_titan.hosts.metrics`)."""

from pathlib import Path

from torchtitan.components.metrics import MetricsProcessor
from torchtitan.config import JobConfig
from torchtitan.distributed import ParallelDims

from nanogpt_titan.hosts.metrics import RunRecords
from nanogpt_titan.hosts.v0_2.settings import nanogpt_run, run_data, run_folder
from nanogpt_titan.metrics.summary import RunFacts
from nanogpt_titan.model.args import NanoGPTModelArgs


class NanoGPTMetricsProcessor(RunRecords, MetricsProcessor):
    def __init__(
        self, job_config: JobConfig, parallel_dims: ParallelDims, model_args: NanoGPTModelArgs, tag: str | None = None
    ):
        super().__init__(job_config, parallel_dims, tag)
        dump_folder, checkpoint = Path(job_config.job.dump_folder), job_config.checkpoint
        run = RunFacts(
            dump_folder=dump_folder,
            dump_folder_setting="--job.dump_folder",
            training_steps=job_config.training.steps,
            enable_wandb=job_config.metrics.enable_wandb,
            checkpoint_folder=dump_folder / checkpoint.folder
            if checkpoint.enable and not checkpoint.load_only
            else None,
            model_args=model_args,
            vocabulary=lambda: run_data(job_config).vocabulary,
            loaded=run_folder(job_config).loaded(),  # before the checkpointer loads or saves anything
            log_freq=job_config.metrics.log_freq,
        )
        self.start_records(run, parallel_dims, job_config.metrics.enable_wandb, nanogpt_run(job_config))


def build_nanogpt_metrics_processor(
    job_config: JobConfig, parallel_dims: ParallelDims, model_args: NanoGPTModelArgs, tag: str | None = None
) -> NanoGPTMetricsProcessor:
    """The TrainSpec's metrics builder (torchtitan passes the run's model args, vocabulary set)."""
    return NanoGPTMetricsProcessor(job_config, parallel_dims, model_args, tag)
