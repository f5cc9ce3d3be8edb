"""The model's args as torchtitan 0.2 uses them (its `BaseModelArgs` protocol): completed from the
run's settings before the model is built."""

from dataclasses import dataclass
from pathlib import Path

from torchtitan.config import JobConfig

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.dataloader import draws_as_nanogpt, run_data, run_seed
from nanogpt_titan.model.args import NanoGPTModelArgs


@dataclass(eq=False)
class NanoGPTTrainArgs(NanoGPTModelArgs):
    def update_from_config(self, job_config: JobConfig, **kwargs) -> None:
        """Take the vocabulary from the run's tokenizer; refuse contexts the model cannot hold."""
        initial_load_path = job_config.checkpoint.initial_load_path
        if job_config.checkpoint.enable and initial_load_path and not Path(initial_load_path).is_dir():
            raise NanoGPTTitanError(
                f"checkpoint.initial_load_path={initial_load_path!r} is not a folder: point it at a checkpoint "
                "(`nanogpt-titan convert` writes one) or a Hugging Face folder"
            )
        contexts = {"training.seq_len": job_config.training.seq_len}
        if job_config.validation.enable:
            contexts["validation.seq_len"] = job_config.validation.seq_len
        self.complete(run_data(job_config).vocabulary, contexts, job_config.model.flavor,
                      run_seed(job_config) if draws_as_nanogpt(job_config) else None)
