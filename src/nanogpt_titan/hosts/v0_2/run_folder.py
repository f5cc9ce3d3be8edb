"""What torchtitan will load from a run's dump folder, decided before anything is built.

torchtitan's checkpointer resumes from `{dump_folder}/{checkpoint.folder}` whenever that folder
exists, and then ignores `checkpoint.initial_load_path` (and `initial_load_in_hf`) with a
warning. `check_run_folder` refuses every start where that would train or validate another
model than the one the settings name, resume on a data-parallel degree the checkpoint cannot
serve, or resume on data of another vocabulary; `loaded_checkpoint` names what a run loads,
for its summary.
"""

from pathlib import Path

from torchtitan.config import JobConfig

from nanogpt_titan.checkpoint.read import read_vocabulary, saved_data_parallel_ranks, saved_steps
from nanogpt_titan.data.vocabulary import Vocabulary
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model.args import VOCABULARY_FILE


def initial_checkpoint(job_config: JobConfig) -> Path | None:
    """The checkpoint a fresh run starts from: `initial_load_path`, else, loading in Hugging
    Face's format, `model.hf_assets_path`."""
    checkpoint = job_config.checkpoint
    initial = checkpoint.initial_load_path or (checkpoint.initial_load_in_hf and job_config.model.hf_assets_path)
    return Path(initial) if initial else None


def resumed_checkpoint(job_config: JobConfig) -> Path | None:
    """The `step-N` folder a run resumes from (`checkpoint.load_step`, else the latest), if saved."""
    steps = saved_steps(Path(job_config.job.dump_folder) / job_config.checkpoint.folder)
    load_step = job_config.checkpoint.load_step
    return steps.get(max(steps, default=None) if load_step == -1 else load_step)


def loaded_checkpoint(job_config: JobConfig) -> Path | None:
    """What the run loads at start, as torchtitan decides it; None for a run from scratch."""
    if not job_config.checkpoint.enable:
        return None
    if (Path(job_config.job.dump_folder) / job_config.checkpoint.folder).exists():
        return resumed_checkpoint(job_config)
    return initial_checkpoint(job_config)


def check_run_folder(job_config: JobConfig, dp_world_size: int, vocabulary: Vocabulary) -> None:
    """Refuse, in one line naming the paths and the way forward, a start that would load
    another model than the settings name, validate nothing, fail mid-load, or resume on data
    of another vocabulary than the run's (`vocabulary`, the data's now)."""
    checkpoint = job_config.checkpoint
    folder = Path(job_config.job.dump_folder) / checkpoint.folder
    if not checkpoint.enable or not folder.exists():
        return
    initial, resumed = initial_checkpoint(job_config), resumed_checkpoint(job_config)
    if initial is not None and not saved_steps(folder):
        raise NanoGPTTitanError(
            f"{folder} exists but holds no complete checkpoint, so torchtitan would start from scratch and ignore "
            f"{initial}: remove {folder}, or give this run another --job.dump_folder"
        )
    if checkpoint.load_only and resumed is not None:
        _refuse_load_only_resume(job_config, initial, resumed)
    if resumed is not None and "dataloader" not in checkpoint.exclude_from_loading:
        _refuse_data_parallel_degree_change(resumed, dp_world_size)
    if resumed is not None and read_vocabulary(Path(job_config.job.dump_folder)) not in (None, vocabulary):
        raise NanoGPTTitanError(
            f"{Path(job_config.job.dump_folder) / VOCABULARY_FILE} records another vocabulary than that of the data "
            f"at training.dataset_path={job_config.training.dataset_path!r}: resume {resumed} with the run's data, "
            "or start a new run in another --job.dump_folder"
        )


def _refuse_load_only_resume(job_config: JobConfig, initial: Path | None, resumed: Path) -> None:
    """A load-only run validates what it loads: in a folder that already holds a run, that is
    the run's checkpoint, never `initial`, and past the last step nothing runs at all."""
    dump_folder = job_config.job.dump_folder
    if initial is not None:
        raise NanoGPTTitanError(
            f"this load-only run names {initial}, but job.dump_folder={dump_folder} already holds {resumed}, which "
            f"torchtitan would load instead: give the run a --job.dump_folder of its own (one without a "
            f"{job_config.checkpoint.folder} folder)"
        )
    step, steps = int(resumed.name.removeprefix("step-")), job_config.training.steps
    if step >= steps:
        raise NanoGPTTitanError(
            f"this load-only run would resume {resumed} at step {step}, past training.steps={steps}, and so "
            f"validate nothing: to validate it, pass --checkpoint.initial_load_path {resumed} and another "
            "--job.dump_folder"
        )


def _refuse_data_parallel_degree_change(resumed: Path, dp_world_size: int) -> None:
    """A run resumes only on the data-parallel degree that saved it, since each rank checkpoints
    its own data streams (torchtitan would fail mid-load)."""
    saved_ranks = saved_data_parallel_ranks(resumed)
    if saved_ranks and saved_ranks != dp_world_size:
        raise NanoGPTTitanError(
            f"{resumed} holds the data streams of {saved_ranks} data-parallel ranks and this run has "
            f"{dp_world_size}: a run resumes only on the degree that saved it. Resume with {saved_ranks} ranks, "
            f"or start a new run from its weights alone: another job.dump_folder and "
            f"--checkpoint.initial_load_path {resumed}"
        )
