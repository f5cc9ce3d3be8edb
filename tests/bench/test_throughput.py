"""Throughput and MFU: torchtitan's Trainer vs nanoGPT's own loop, eager vs torch.compile.

They run only when asked for (`pytest tests/bench`, or a `--benchmark-*` option that saves,
compares or runs only benchmarks); `pytest -m "not gpu"` leaves them out.
`pytest tests/bench --benchmark-autosave` records a run; `--benchmark-compare` compares the
next one with it. Each result carries tokens/s and MFU (nanoGPT's FLOP formula over the
device's bf16 peak) in its extra_info; docs/performance.md keeps the measured tables.
"""

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace

import pytest
import torch
import torch.nn.functional as F

from nanogpt_titan import nanogpt_args
from nanogpt_titan.cpu_host import NANOGPT_REFERENCE_PEAK_FLOPS
from nanogpt_titan.datasets import RandomBlockTokenDataset, encoded_split
from nanogpt_titan.optimizer import NanoGPTAdamW

CUDA = torch.cuda.is_available()
DEVICE = "cuda" if CUDA else "cpu"


@dataclass(frozen=True)
class Size:
    config: str  # the shipped train config
    flavor: str
    batch_size: int
    seq_len: int
    rounds: int  # timed steps; compile happens in the warm-up rounds


SIZES = {
    "debugmodel": Size("debug_model.toml", "debugmodel", 8, 64, rounds=40),
    "baby": Size("baby.toml", "baby", 12, 64, rounds=30),
    "mini-gpt": Size("mini-gpt.toml", "mini-gpt", 64, 256, rounds=30),
}
WARMUP_ROUNDS = 3
SIZE_PARAMS = [
    pytest.param(SIZES["debugmodel"], id="debugmodel"),
    pytest.param(SIZES["baby"], id="baby"),
    pytest.param(SIZES["mini-gpt"], id="mini-gpt", marks=[
        pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason="mini-gpt is benchmarked on CUDA only"),
    ]),
]


def peak_flops() -> float:
    """The device's bf16 dense peak; on a CPU, nanoGPT's A100 reference, as its estimate_mfu."""
    if not CUDA:
        return NANOGPT_REFERENCE_PEAK_FLOPS
    from torchtitan.tools.utils import get_peak_flops

    return get_peak_flops(torch.cuda.get_device_name())


def synchronize() -> None:
    if CUDA:
        torch.cuda.synchronize()


@pytest.fixture
def measure(benchmark):
    """Time `step` with pytest-benchmark and record tokens/s and MFU in `extra_info`."""

    def run(step: Callable[[], object], size: Size, model, flops_share: float = 1.0) -> float:
        def timed_step():
            step()
            synchronize()

        benchmark.pedantic(timed_step, rounds=size.rounds, iterations=1, warmup_rounds=WARMUP_ROUNDS)
        tokens_per_second = size.batch_size * size.seq_len / benchmark.stats.stats.median
        _, train_flops_per_token = model.model_args.get_nparams_and_flops(model, size.seq_len)
        flops_per_token = flops_share * train_flops_per_token
        benchmark.extra_info.update(
            device=torch.cuda.get_device_name() if CUDA else "cpu",
            torch=torch.__version__,
            tokens_per_second=round(tokens_per_second, 1),
            peak_flops=peak_flops(),
            mfu_percent=float(f"{100 * flops_per_token * tokens_per_second / peak_flops():.3g}"),
        )
        return tokens_per_second

    return run


@pytest.fixture
def train_batches(char_tokenizer):
    """nanoGPT's `get_batch` on the train split: pinned and copied asynchronously on CUDA."""

    def batches(size: Size):
        dataset = RandomBlockTokenDataset(encoded_split(char_tokenizer, "train"), size.seq_len, size.batch_size, seed=1337)
        for inputs, targets in dataset:
            if CUDA:
                yield (inputs["input"].pin_memory().to(DEVICE, non_blocking=True),
                       targets.pin_memory().to(DEVICE, non_blocking=True))
            else:
                yield inputs["input"], targets

    return batches


def nanogpt_train_step(model, batches, lr: float = 1e-3) -> Callable[[], torch.Tensor]:
    """One iteration of nanoGPT's `train.py`: bf16 autocast and fused AdamW on CUDA, fp32 on CPU."""
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if CUDA else nullcontext()
    optimizer = NanoGPTAdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.1, fused=CUDA)

    def step() -> torch.Tensor:
        for group in optimizer.param_groups:
            group["lr"] = lr
        inputs, targets = next(batches)
        with autocast:
            logits = model(inputs)
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    return step


COMPILE = [pytest.param(False, id="eager"), pytest.param(True, id="compiled")]


def model_for(build_model, size):
    return build_model(replace(nanogpt_args[size.flavor], vocab_size=65)).to(DEVICE)


@pytest.mark.parametrize("compiled", COMPILE)
@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_trainer_train_step(make_trainer, measure, size, compiled):
    """`Trainer.train_step` as `Trainer.train` calls it: data, forward, backward, clip, AdamW,
    schedule, metrics; compiled means the shipped per-block compile plus the compiled loss."""
    trainer = make_trainer(size.config, "--compile.enable" if compiled else "--compile.no-enable")
    batches = trainer.batch_generator(trainer.dataloader)

    def step():
        trainer.step += 1
        trainer.train_step(batches)

    measure(step, size, trainer.model_parts[0])


@pytest.mark.parametrize("granularity", ["eager", "blocks", "model"])
@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_nanogpt_loop_step(build_model, train_batches, measure, size, granularity):
    """nanoGPT's `train.py` iteration on the same model: the baseline for the Trainer's overhead.
    `model` compiles the whole model, as nanoGPT does; `blocks` compiles per block, as we do."""
    model = model_for(build_model, size)
    if granularity == "blocks":
        for block in model.layers.values():
            block.compile(fullgraph=True)
    elif granularity == "model":
        model.compile()
    measure(nanogpt_train_step(model, train_batches(size)), size, model)


@pytest.mark.parametrize("compiled", COMPILE)
@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_forward(build_model, train_batches, measure, size, compiled):
    """Inference throughput (eval mode, no grad); MFU counts the forward's third of 6N + 12LHQT."""
    model = model_for(build_model, size).eval()
    if compiled:
        model.compile()
    inputs, _ = next(train_batches(size))
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if CUDA else torch.autocast("cpu", enabled=False)

    @torch.no_grad()
    def forward():
        with autocast:
            return model(inputs)

    measure(forward, size, model, flops_share=1 / 3)
