"""The model as torchtitan 0.2 builds it: its args (torchtitan 0.2's `BaseModelArgs` protocol),
completed from the run's settings, and the model made from them."""

from dataclasses import dataclass
from pathlib import Path

from torchtitan.config import JobConfig

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts.v0_2.settings import data_plan, nanogpt_run
from nanogpt_titan.model import NanoGPT
from nanogpt_titan.model.args import NanoGPTModelArgs


@dataclass(eq=False)
class NanoGPTTrainArgs(NanoGPTModelArgs):
    # What draws the initial weights in the run's randomness (None: the model's own init). Set by
    # `update_from_config`; no GPTConfig field, so never saved or logged with the args.
    initialise = None

    def update_from_config(self, job_config: JobConfig, **kwargs) -> None:
        """Take the vocabulary from the run's tokenizer and the initialisation from its
        randomness; refuse contexts the model cannot hold, and a model that is not the one the
        run loads."""
        initial_load_path = job_config.checkpoint.initial_load_path
        if job_config.checkpoint.enable and initial_load_path and not Path(initial_load_path).is_dir():
            raise NanoGPTTitanError(
                f"checkpoint.initial_load_path={initial_load_path!r} is not a folder: point it at a checkpoint "
                "(`nanogpt-titan convert` writes one) or a Hugging Face folder"
            )
        contexts = {"training.seq_len": job_config.training.seq_len}
        if job_config.validation.enable:
            contexts["validation.seq_len"] = job_config.validation.seq_len
        plan = data_plan(job_config)
        self.complete(plan.folder().vocabulary, contexts, job_config.model.flavor)
        plan.check_run(self)
        self.initialise = nanogpt_run(job_config).randomness.model_initialiser()


class NanoGPTTrainModel(NanoGPT):
    """The TrainSpec's model class: torchtitan 0.2 makes it from the args alone."""

    def __init__(self, model_args: NanoGPTTrainArgs):
        super().__init__(model_args, model_args.initialise)
