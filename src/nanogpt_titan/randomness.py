"""How a run draws its random numbers: one `Randomness`, made once per run by the host adapter
from its settings and handed to what draws (the model's initialisation, the dataloader, the
validator).

| mode                       | initial weights              | training batches                   | evaluations                 |
|----------------------------|------------------------------|------------------------------------|-----------------------------|
| "rank_invariant" (default) | GPT-2's init, module by module (`NanoGPT.init_weights`) | numbered window streams, one per micro-batch: N ranks train exactly as one process accumulating their micro-batches | the same random batches at every validation, on every rank |
| "nanogpt"                  | nanoGPT's, as its constructor draws them after `torch.manual_seed(seed)` | `train.py`'s `get_batch` in its order, from `torch.manual_seed(seed + rank)`: rank r is nanoGPT's DDP rank r | nanoGPT's, drawn between its batches, at every `eval_interval`-th iteration, on the first rank |

Drawing as nanoGPT, several ranks must be DDP's (FSDP shards would each be a nanoGPT rank of
their own), and validation uses the training batches' shape, as `estimate_loss` does.

Dropout draws from the process's global generators. Rank-invariantly, rank 0 drops out from
where the initialisation leaves them, as one process does, and rank r > 0 from a seed of its
own; as nanoGPT, every rank from where its own construction left `seed + rank`. A checkpoint
holds each rank's generators (`generator_states`), taken when it is saved, so that a resumed
run drops the same units as the uninterrupted one.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils.data import IterableDataset

from nanogpt_titan.data.datasets import BatchShape
from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.data.windows import RandomBlockTokenDataset, derived_seed
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.nanogpt_draws import NanoGPTBatchDataset, NanoGPTBatches, initialise

RANK_INVARIANT, NANOGPT = "rank_invariant", "nanogpt"
DEFAULT_SEED = 1337  # nanoGPT's torch.manual_seed


@dataclass(frozen=True)
class Evaluations:
    """When the validator evaluates (nanoGPT's eval_interval) and on how many batches per split
    (eval_iters); `enabled` False: never."""

    enabled: bool
    interval: int
    batches: int


def _rank() -> int:
    """This process's rank, which is its data-parallel rank: the model refuses other parallelisms."""
    return torch.distributed.get_rank() if torch.distributed.is_initialized() else 0


def _initialise_rank_invariantly(model: torch.nn.Module, seed: int) -> None:
    model.init_modules()
    if _rank() > 0:
        torch.manual_seed(derived_seed(seed, "dropout", _rank()))


def _initialise_as_nanogpt(model: torch.nn.Module, seed: int) -> None:
    initialise(model, seed, seed + _rank())


def generator_states() -> dict[str, torch.Tensor]:
    """The process's global generators (dropout's, and nanoGPT's batches'), to checkpoint."""
    states = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state()
    return states


def load_generator_states(states: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(states["cpu"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state(states["cuda"])


class Randomness:
    """A run's randomness (the module doc): its `mode` and `seed`, named in messages by the host's
    own `setting` of the mode (e.g. "debug.randomness")."""

    def __init__(self, mode: str = RANK_INVARIANT, seed: int = DEFAULT_SEED, setting: str = "debug.randomness"):
        if mode not in (RANK_INVARIANT, NANOGPT):
            raise NanoGPTTitanError(f"{setting}={mode!r} is neither {RANK_INVARIANT!r} nor {NANOGPT!r}")
        self.mode, self.seed, self.setting = mode, seed, setting
        self.nanogpt_batches: NanoGPTBatches | None = None  # the run's one sequence, drawing as nanoGPT

    @property
    def as_nanogpt(self) -> bool:
        return self.mode == NANOGPT

    def check(
        self,
        dp_world_size: int,
        replicate_degree: int,
        training: BatchShape,
        validation: BatchShape | None,
        validation_fix: str,
    ) -> None:
        """Refuse, before anything is built, what nanoGPT's draws cannot follow: ranks that shard
        the model, and a validation shape other than the training batches'. `validation_fix` is
        the host's advice for the latter."""
        if not self.as_nanogpt:
            return
        if dp_world_size > 1 and replicate_degree != dp_world_size:
            raise NanoGPTTitanError(
                f"{self.setting}='nanogpt' follows nanoGPT's DDP, rank by rank, and these {dp_world_size} data-parallel "
                f"ranks shard the model: pass --parallelism.data_parallel_replicate_degree {dp_world_size} "
                f"--parallelism.data_parallel_shard_degree 1, or {self.setting}='rank_invariant'"
            )
        if validation is not None and validation != training:
            raise NanoGPTTitanError(
                f"{self.setting}='nanogpt' evaluates as nanoGPT, on batches of the training batches' shape "
                f"({training.batch_size} windows of {training.seq_len} tokens): {validation_fix}"
            )

    def model_initialiser(self) -> Callable[[torch.nn.Module], None]:
        """What draws the model's initial weights (`NanoGPT(initialise=...)`), and leaves this
        process's generators where its dropout starts."""
        return functools.partial(
            _initialise_as_nanogpt if self.as_nanogpt else _initialise_rank_invariantly, seed=self.seed
        )

    def training_batches(
        self,
        data: DataFolder,
        split: str,
        shape: BatchShape,
        micro_batches: int,
        dp_rank: int,
        evaluations: Evaluations,
    ) -> IterableDataset:
        """This rank's training micro-batches, as the dataloader hands them to the Trainer.

        rank_invariant: with A micro-batches per rank, rank r draws micro-batch a from window
        stream r * A + a, which is micro-batch r * A + a of one process that accumulates all of
        them. nanogpt: the run's one nanoGPT sequence, which the validator evaluates from too.
        """
        if not self.as_nanogpt:
            return RandomBlockTokenDataset(
                data.split(split),
                seq_len=shape.seq_len,
                batch_size=shape.batch_size,
                seed=self.seed,
                streams=range(dp_rank * micro_batches, (dp_rank + 1) * micro_batches),
            )
        self.nanogpt_batches = NanoGPTBatches(
            data.split("train"),
            data.split("val"),
            shape.batch_size,
            shape.seq_len,
            micro_batches,
            eval_interval=evaluations.interval,
            eval_iters=evaluations.batches,
            evaluates=evaluations.enabled and dp_rank == 0,
        )
        return NanoGPTBatchDataset(self.nanogpt_batches)


class WithGenerators(IterableDataset):
    """`dataset`, whose checkpointed state also holds the process's generators, for a host whose
    dataloader is asked for its state when a checkpoint is saved (torchdata's, on torchtitan 0.2)."""

    def __init__(self, dataset: IterableDataset):
        self.dataset = dataset

    def __iter__(self):
        return iter(self.dataset)

    def state_dict(self) -> dict:
        return {"dataset": self.dataset.state_dict(), "generators": generator_states()}

    def load_state_dict(self, state: dict) -> None:
        self.dataset.load_state_dict(state["dataset"])
        load_generator_states(state["generators"])
