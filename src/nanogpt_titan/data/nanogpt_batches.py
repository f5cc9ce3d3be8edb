"""The batches of nanoGPT's `train.py`, drawn in its order from the global generator.

`train.py` draws everything from `torch.manual_seed(seed + rank)`'s generator, right after the
model's initialisation: its first batch; at the top of every `eval_interval`-th iteration, on
the master process, `estimate_loss`'s `eval_iters` batches of the training split, then of the
validation split; and, after each micro-step's forward pass, the next micro-batch. On a CPU its
dropout masks come from the same generator, during the forward passes.

`NanoGPTBatches` hands out the same batches at the same points of that sequence: a micro-batch
is drawn when the Trainer asks for it, an evaluation's batches when the validator asks for
them (having drawn first the micro-batch nanoGPT prefetched before that evaluation), and an
evaluation the validator does not run (iteration 0's, before any update) is drawn all the
same, so that every later draw lines up, and handed to `report`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.utils.data import IterableDataset

from nanogpt_titan.data.folder import TokenFile

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class NanoGPTBatches:
    train: TokenFile
    val: TokenFile
    batch_size: int
    block_size: int
    micro_batches: int  # per iteration, on this process (gradient_accumulation_steps / processes)
    eval_interval: int
    eval_iters: int
    evaluates: bool  # nanoGPT's master process: the only one that draws evaluations
    iteration: int = 0  # nanoGPT's iter_num of the next micro-batch handed out
    micro_step: int = 0
    prefetched: Batch | None = None  # drawn, not yet handed out
    evaluated_at: int = -1  # the last iteration whose evaluation was drawn
    report: Callable[[int, dict], None] | None = None  # gets (iteration, batches) of evaluations nobody asked for
    splits: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.splits = {"train": self.train, "val": self.val}

    def draw(self, split: str) -> Batch:
        """nanoGPT's `get_batch(split)`: starts from the global generator."""
        tokens = self.splits[split]
        starts = torch.randint(len(tokens) - self.block_size, (self.batch_size,))
        windows = tokens.windows(starts, self.block_size + 1)
        return windows[:, :-1], windows[:, 1:]

    def training_batch(self) -> Batch:
        """The next micro-batch, after whatever nanoGPT draws before it."""
        if self.prefetched is None:
            self.prefetched = self.draw("train")
        evaluation = self.evaluation(self.iteration) if self.micro_step == 0 else None  # one the validator did not run
        if evaluation is not None and self.report is not None:
            self.report(self.iteration, evaluation)
        batch, self.prefetched = self.prefetched, None
        self.micro_step = (self.micro_step + 1) % self.micro_batches
        self.iteration += self.micro_step == 0
        return batch

    def evaluation(self, iteration: int) -> dict[str, list[Batch]] | None:
        """`estimate_loss`'s batches at the top of `iteration` (after its first micro-batch is
        drawn), each split's; None where nanoGPT draws none: not the master process, not an
        evaluation iteration, or drawn already."""
        if not self.evaluates or iteration % self.eval_interval or iteration <= self.evaluated_at:
            return None
        if self.prefetched is None:
            self.prefetched = self.draw("train")
        self.evaluated_at = iteration
        return {split: [self.draw(split) for _ in range(self.eval_iters)] for split in ("train", "val")}

    def state_dict(self) -> dict:
        return {"iteration": self.iteration, "micro_step": self.micro_step, "prefetched": self.prefetched,
                "evaluated_at": self.evaluated_at, "torch_rng_state": torch.get_rng_state()}

    def load_state_dict(self, state: dict) -> None:
        self.iteration, self.micro_step = state["iteration"], state["micro_step"]
        self.prefetched, self.evaluated_at = state["prefetched"], state["evaluated_at"]
        torch.set_rng_state(state["torch_rng_state"])


class NanoGPTBatchDataset(IterableDataset):
    """The training micro-batches of a `NanoGPTBatches`, as torchtitan's dataloader takes them;
    its state (with the global generator's) resumes the same sequence."""

    def __init__(self, batches: NanoGPTBatches):
        self.batches = batches

    def __iter__(self):
        while True:
            inputs, targets = self.batches.training_batch()
            yield {"input": inputs}, targets

    def state_dict(self) -> dict:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.batches.load_state_dict(state)
