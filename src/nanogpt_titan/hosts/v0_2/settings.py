"""What the TrainSpec's builders read from torchtitan 0.2's JobConfig, and the run's shared parts.

torchtitan 0.2's Trainer hands every builder the run's JobConfig and nothing else they all
have, so the parts the components of one run share (`NanoGPTRun`) travel on it: the first
builder that asks makes them (the Trainer builds one run from one JobConfig), the others find
them there.
"""

from torchtitan.config import JobConfig

from nanogpt_titan.data.datasets import BatchSettings, BatchShape, dataset_folder
from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.hosts.data import DataPlan
from nanogpt_titan.randomness import DEFAULT_SEED, RANK_INVARIANT, Evaluations, Randomness
from nanogpt_titan.run import NanoGPTRun
from nanogpt_titan.run_folder import RunFolder

SECTION = "training"  # where torchtitan 0.2 keeps dataset and dataset_path
RUN_ATTRIBUTE = "_nanogpt_run"


def nanogpt_run(job_config: JobConfig) -> NanoGPTRun:
    """The run's shared parts. Its randomness is `debug.randomness` (a config without the
    `nanogpt_titan.hosts.v0_2.job_config` section has the default) from `debug.seed`, else
    nanoGPT's 1337."""
    run = getattr(job_config, RUN_ATTRIBUTE, None)
    if run is None:
        debug = job_config.debug
        seed = DEFAULT_SEED if debug.seed is None else debug.seed
        run = NanoGPTRun(Randomness(getattr(debug, "randomness", RANK_INVARIANT), seed))
        setattr(job_config, RUN_ATTRIBUTE, run)
    return run


def data_plan(job_config: JobConfig) -> DataPlan:
    training, validation = job_config.training, job_config.validation
    batches = batch_settings(job_config)
    return DataPlan(
        dataset=training.dataset,
        dataset_path=training.dataset_path,
        section=SECTION,
        batches=batches,
        seq_len_setting="training.seq_len",
        evaluations=Evaluations(validation.enable, validation.freq, validation.steps),
        validation_shape=BatchShape(validation.local_batch_size, validation.seq_len) if validation.enable else None,
        validation_fix=f"set validation.local_batch_size={batches.local_batch_size} and "
        f"validation.seq_len={batches.seq_len}",
        replicate_degree=job_config.parallelism.data_parallel_replicate_degree,
        run_folder=run_folder(job_config),
    )


def run_data(job_config: JobConfig) -> DataFolder:
    """The run's data folder, which `training.dataset_path` names (`nanogpt_titan.data.datasets`)."""
    return dataset_folder(job_config.training.dataset, job_config.training.dataset_path, SECTION)


def run_folder(job_config: JobConfig) -> RunFolder:
    """The run's dump folder and what decides what the run loads from it."""
    return RunFolder(
        job_config.job.dump_folder,
        job_config.checkpoint,
        job_config.model.hf_assets_path,
        job_config.training.steps,
        job_config.training.dataset_path,
    )


def batch_settings(job_config: JobConfig) -> BatchSettings:
    training = job_config.training
    return BatchSettings(training.local_batch_size, training.seq_len, training.global_batch_size)
