"""nanoGPT's random draws, in the order its scripts make them, all from torch's global generator.

`train.py` seeds it with `torch.manual_seed(1337 + rank)`, then constructs the model, whose
initialisation draws; then come the first batch, at the top of every `eval_interval`-th
iteration on the master process `estimate_loss`'s batches (the training split's, then the
validation split's), and after each micro-step's forward pass the next micro-batch; on a CPU its
dropout masks come from the same generator, during the forward passes. `sample.py` seeds it with
`seed`, constructs the model (whose initialisation draws, though the checkpoint's weights
replace them), and draws every sampled token from it.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import IterableDataset

from nanogpt_titan.data.folder import TokenFile
from nanogpt_titan.model.args import NanoGPTModelArgs
from nanogpt_titan.model.model import INIT_STD, NanoGPT, copy_whole

Batch = tuple[torch.Tensor, torch.Tensor]


def _init_module(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


def initial_weights(model_args: NanoGPTModelArgs, seed: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """nanoGPT's initial weights after `torch.manual_seed(seed)`, and the global CPU generator's
    state after them; the generator itself is left as it was.

    nanoGPT builds its model on the CPU: each `nn.Linear` and `nn.Embedding` constructor draws
    its default init, in construction order (the head's too, before it is tied); then
    `apply(_init_weights)` draws N(0, 0.02) for every Linear and Embedding weight, children
    before parents (the tied head last, redrawing the token embedding); then every
    `c_proj.weight` once more with the scaled std, in `named_parameters` order. `NanoGPT`
    builds the same modules in the same order, so a CPU replica drawn so is nanoGPT's.
    """
    saved = torch.get_rng_state()
    torch.manual_seed(seed)
    with torch.device("cpu"), torch.no_grad():
        replica = NanoGPT(model_args)
        replica.apply(_init_module)
        for name, parameter in replica.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(parameter, mean=0.0, std=INIT_STD / math.sqrt(2 * model_args.n_layer))
    after = torch.get_rng_state()
    torch.set_rng_state(saved)
    return replica.state_dict(), after


def seed_as_sample_py(model_args: NanoGPTModelArgs, seed: int) -> None:
    """The generators as `sample.py` leaves them before its first token: seeded with `seed`, then
    drawn from by the construction of a model of `model_args`."""
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed(seed)
    torch.set_rng_state(initial_weights(model_args, seed)[1])


@torch.no_grad()
def initialise(model: NanoGPT, seed: int, process_seed: int) -> None:
    """nanoGPT's weights after `torch.manual_seed(seed)` (its master process's, which DDP hands
    to all ranks) in `model`, wherever its parameters are (any device, FSDP shards); the global
    generator then continues where this process's own construction left it (`process_seed`:
    nanoGPT's `seed + rank`)."""
    weights, after = initial_weights(model.model_args, seed)
    for name, parameter in model.named_parameters():
        copy_whole(parameter, weights[name])
    if process_seed != seed:
        _, after = initial_weights(model.model_args, process_seed)
    torch.set_rng_state(after)
    if torch.cuda.is_available():  # nanoGPT's CUDA dropout draws from the CUDA generator of its seed
        torch.cuda.manual_seed(process_seed)


@dataclass
class NanoGPTBatches:
    """The batches of `train.py` at the points of its draw sequence where it draws them: a
    micro-batch when the Trainer asks for one, an evaluation's batches when the validator asks
    for them (having drawn first the micro-batch nanoGPT prefetched before that evaluation), and
    an evaluation the validator does not run (iteration 0's, before any update) all the same, so
    that every later draw lines up; that one is handed to `report`."""

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
        """Where the sequence stands; the generator it draws from is the process's, which the
        host checkpoints beside (`nanogpt_titan.randomness.generator_states`)."""
        return {
            "iteration": self.iteration,
            "micro_step": self.micro_step,
            "prefetched": self.prefetched,
            "evaluated_at": self.evaluated_at,
        }

    def load_state_dict(self, state: dict) -> None:
        self.iteration, self.micro_step = state["iteration"], state["micro_step"]
        self.prefetched, self.evaluated_at = state["prefetched"], state["evaluated_at"]


class NanoGPTBatchDataset(IterableDataset):
    """The training micro-batches of a `NanoGPTBatches`, as torchtitan's dataloader takes them;
    its state (with the process's generators) resumes the same sequence."""

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
