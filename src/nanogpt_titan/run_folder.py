"""What torchtitan will load from a run's dump folder, decided before anything is built, on
either host (their checkpoint settings have the same names).

torchtitan's checkpointer resumes from `{dump_folder}/{checkpoint.folder}` whenever that folder
exists, and then ignores `checkpoint.initial_load_path` (and `initial_load_in_hf`) with a
warning. `RunFolder.check` refuses every start where that would train or validate another
checkpoint than the one the settings name, resume on a data-parallel degree the checkpoint
cannot serve, resume on data of another vocabulary, or load another model than the run's;
`RunFolder.loaded` names what a run loads, for its summary.
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from nanogpt_titan.checkpoint.saved import (
    described_model,
    read_vocabulary,
    saved_data_parallel_ranks,
    saved_model_shapes,
    saved_steps,
)
from nanogpt_titan.data.vocabulary import Vocabulary
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model import NanoGPT, NanoGPTModelArgs
from nanogpt_titan.model.args import VOCABULARY_FILE

# The GPTConfig fields that make a model another model (dropout trains the same weights).
MODEL_FIELDS = ("n_layer", "n_head", "n_embd", "block_size", "vocab_size", "bias")


@dataclass(frozen=True)
class RunFolder:
    """A run's dump folder and the settings that decide what the run loads, with the names the
    host gives its settings (`dump_folder_setting`, `dataset_path_setting`)."""

    dump_folder: str
    checkpoint: object  # the host's checkpoint settings
    hf_assets_path: str | None
    training_steps: int
    dataset_path: str | None
    dump_folder_setting: str = "job.dump_folder"
    dataset_path_setting: str = "training.dataset_path"
    initial_load_setting: str = "checkpoint.initial_load_path"

    @property
    def checkpoint_folder(self) -> Path:
        return Path(self.dump_folder) / self.checkpoint.folder

    def initial(self) -> Path | None:
        """The checkpoint a fresh run starts from: `initial_load_path`, else, loading in Hugging
        Face's format, the hf_assets_path."""
        initial = self.checkpoint.initial_load_path or (self.checkpoint.initial_load_in_hf and self.hf_assets_path)
        return Path(initial) if initial else None

    def resumed(self) -> Path | None:
        """The `step-N` folder a run resumes from (`checkpoint.load_step`, else the latest), if saved."""
        steps = saved_steps(self.checkpoint_folder)
        load_step = self.checkpoint.load_step
        return steps.get(max(steps, default=None) if load_step == -1 else load_step)

    def loaded(self) -> Path | None:
        """What the run loads at start, as torchtitan decides it; None for a run from scratch."""
        if not self.checkpoint.enable:
            return None
        return self.resumed() if self.checkpoint_folder.exists() else self.initial()

    def _check_model(self, args: NanoGPTModelArgs) -> None:
        """Refuse a run whose model (`args`, completed from the run's settings) is not the model of
        what it loads: the recorded one (the run's `model_args.json`, a checkpoint's, a Hugging Face
        config.json), else the shapes of the checkpoint's tensors. One line names both."""
        loaded = self.loaded()
        if loaded is None:
            return
        recorded = described_model(loaded)
        if recorded is not None:
            differ = [
                f"{name}={recorded[name]} (this run's {args.gpt_config()[name]})"
                for name in MODEL_FIELDS
                if name in recorded and recorded[name] != args.gpt_config()[name]
            ]
        else:
            with torch.device("meta"):
                expected = {name: tuple(t.shape) for name, t in NanoGPT(args).state_dict().items()}
            saved = saved_model_shapes(loaded)
            differ = [
                f"{name} {saved[name]} (this run's {shape})"
                for name, shape in expected.items()
                if name in saved and saved[name] != shape
            ]
        if differ:
            raise NanoGPTTitanError(
                f"{loaded} holds another model than this run's ({args}): {', '.join(differ[:4])}; train the "
                f"checkpoint's model (its folder as the flavor), or start this one in another --{self.dump_folder_setting}"
            )

    def check(self, dp_world_size: int, vocabulary: Vocabulary, args: NanoGPTModelArgs | None = None) -> None:
        """Refuse, in one line naming the paths and the way forward, a start that would load
        another checkpoint than the settings name, validate nothing, fail mid-load, resume on data
        of another vocabulary than the run's (`vocabulary`, the data's now), or load another model
        than the run's (`args`, when given)."""
        self._check_folder(dp_world_size, vocabulary)
        if args is not None:
            self._check_model(args)

    def _check_folder(self, dp_world_size: int, vocabulary: Vocabulary) -> None:
        folder = self.checkpoint_folder
        if not self.checkpoint.enable or not folder.exists():
            return
        initial, resumed = self.initial(), self.resumed()
        if initial is not None and not saved_steps(folder):
            raise NanoGPTTitanError(
                f"{folder} exists but holds no complete checkpoint, so torchtitan would start from scratch and ignore "
                f"{initial}: remove {folder}, or give this run another --{self.dump_folder_setting}"
            )
        if self.checkpoint.load_only and resumed is not None:
            self._refuse_load_only_resume(initial, resumed)
        if resumed is not None and "dataloader" not in self.checkpoint.exclude_from_loading:
            self._refuse_data_parallel_degree_change(resumed, dp_world_size)
        if resumed is not None and read_vocabulary(Path(self.dump_folder)) not in (None, vocabulary):
            raise NanoGPTTitanError(
                f"{Path(self.dump_folder) / VOCABULARY_FILE} records another vocabulary than that of the data at "
                f"{self.dataset_path_setting}={self.dataset_path!r}: resume {resumed} with the run's data, or start a "
                f"new run in another --{self.dump_folder_setting}"
            )

    def _refuse_load_only_resume(self, initial: Path | None, resumed: Path) -> None:
        """A load-only run validates what it loads: in a folder that already holds a run, that is
        the run's checkpoint, never `initial`, and past the last step nothing runs at all."""
        if initial is not None:
            raise NanoGPTTitanError(
                f"this load-only run names {initial}, but {self.dump_folder_setting}={self.dump_folder} already holds "
                f"{resumed}, which torchtitan would load instead: give the run a --{self.dump_folder_setting} of its "
                f"own (one without a {self.checkpoint.folder} folder)"
            )
        step = int(resumed.name.removeprefix("step-"))
        if step >= self.training_steps:
            raise NanoGPTTitanError(
                f"this load-only run would resume {resumed} at step {step}, past training.steps={self.training_steps}, "
                f"and so validate nothing: to validate it, pass --checkpoint.initial_load_path {resumed} and another "
                f"--{self.dump_folder_setting}"
            )

    def _refuse_data_parallel_degree_change(self, resumed: Path, dp_world_size: int) -> None:
        """A run resumes only on the data-parallel degree that saved it, since each rank checkpoints
        its own data streams (torchtitan would fail mid-load)."""
        saved_ranks = saved_data_parallel_ranks(resumed)
        if saved_ranks and saved_ranks != dp_world_size:
            raise NanoGPTTitanError(
                f"{resumed} holds the data streams of {saved_ranks} data-parallel ranks and this run has "
                f"{dp_world_size}: a run resumes only on the degree that saved it. Resume with {saved_ranks} ranks, "
                f"or start a new run from its weights alone: another --{self.dump_folder_setting} and "
                f"--{self.initial_load_setting} {resumed}"
            )
