"""Throughput and MFU: torchtitan's Trainer vs nanoGPT's own loop, eager vs torch.compile.

They run only when asked for (`pytest tests/bench`, or a `--benchmark-*` option that saves,
compares or runs only benchmarks); `pytest -m "not gpu"` leaves them out.
`pytest tests/bench --benchmark-autosave` records a run; `--benchmark-compare` compares the
next one with it. docs/performance.md keeps the measured tables.

Like with like: each Trainer row has a nanoGPT-loop row built from the same shipped config,
so both train in the same dtype (the config's bf16 autocast on CUDA, fp32 on a CPU), with the
same AdamW implementation (the config's `optimizer.implementation`) and the same compile
granularity (`parallelize_nanogpt` per block plus torchtitan's compiled loss); nanoGPT's own
whole-model compile is an extra loop row. A round is STEPS_PER_ROUND steps and one device
synchronisation at its end: pytest-benchmark's times are per round; `ms_per_step`,
`tokens_per_second` and the MFUs in `extra_info` are per step. A sync after every step would
hide the host running ahead of the device, which is where the two loops differ.
"""

from contextlib import nullcontext
from dataclasses import dataclass, replace

import pytest
import torch
from torchtitan.components.loss import build_cross_entropy_loss, cross_entropy_loss
from torchtitan.config import TORCH_DTYPE_MAP

from nanogpt_titan.data.windows import RandomBlockTokenDataset
from nanogpt_titan.hosts.v0_2.parallelize import parallelize_nanogpt
from nanogpt_titan.hosts.v0_2.train_spec import nanogpt_args
from nanogpt_titan.optim import NanoGPTAdamW

pytestmark = pytest.mark.hosts("v0_2")  # torchtitan 0.2's Trainer and config
CUDA = torch.cuda.is_available()
DEVICE = "cuda" if CUDA else "cpu"
# A100 bf16 dense peak: the denominator of nanoGPT's `estimate_mfu` on every device, so that
# `mfu_percent_vs_312` compares with the MFU nanoGPT's train.py prints.
NANOGPT_REFERENCE_PEAK_FLOPS = 312e12
STEPS_PER_ROUND = 10
WARMUP_ROUNDS = 2  # compile and autotuning happen here


@dataclass(frozen=True)
class Size:
    config: str  # the shipped train config: model, batch, dtype, AdamW implementation
    rounds: int  # timed rounds of STEPS_PER_ROUND steps


SIZE_PARAMS = [
    pytest.param(Size("debug_model.toml", rounds=5), id="debugmodel"),
    pytest.param(Size("shakespeare_cpu.toml", rounds=4), id="shakespeare-cpu"),
    pytest.param(
        Size("mini-gpt.toml", rounds=5),
        id="mini-gpt",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not CUDA, reason="mini-gpt is benchmarked on CUDA only"),
        ],
    ),
]
# Compile granularity of each row, by id; the Trainer has the first two.
COMPILE_AS = {
    "eager": "none",
    "compiled": "per block + loss",  # parallelize_nanogpt and torchtitan's compiled loss
    "compiled-whole-model": "whole model + loss (nanoGPT's own)",
}


def compile_setting(compile_as: str) -> dict:
    return {"compile.enable": compile_as != "eager"}


def device_peak_flops() -> float:
    """The device's bf16 dense peak (torchtitan's table); on a CPU, nanoGPT's reference."""
    if not CUDA:
        return NANOGPT_REFERENCE_PEAK_FLOPS
    from torchtitan.tools.utils import get_peak_flops

    return get_peak_flops(torch.cuda.get_device_name())


def compute_dtype(job_config) -> torch.dtype:
    """The Trainer's: autocast to `mixed_precision_param` on CUDA; a CPU run stays fp32 (nanogpt_titan.plugin)."""
    return TORCH_DTYPE_MAP[job_config.training.mixed_precision_param] if CUDA else torch.float32


def trainer_dtype(job_config):
    return torch.autocast("cuda", dtype=compute_dtype(job_config)) if CUDA else nullcontext()


def synchronize() -> None:
    if CUDA:
        torch.cuda.synchronize()


def percent(fraction: float) -> float:
    return float(f"{100 * fraction:.3g}")


@pytest.fixture
def shipped(make_trainer):
    """A shipped config's JobConfig and ParallelDims, as its Trainer has them (built, then closed)."""

    def settings(config: str, compile_as: str = "eager"):
        trainer = make_trainer(config, compile_setting(compile_as))
        job_config, parallel_dims = trainer.job_config, trainer.parallel_dims
        make_trainer.close()
        return job_config, parallel_dims

    return settings


@pytest.fixture(autouse=True)
def fresh_compile():
    """Each row compiles from scratch: no recompiles, dynamic shapes or exhausted recompile
    limits carried over from the rows before it (all of them compile the same Block.forward)."""
    torch._dynamo.reset()


@pytest.fixture
def measure(benchmark):
    """Time rounds of `step` with pytest-benchmark; record per-step tokens/s and MFU."""

    def run(step, size: Size, job_config, model, flops_share: float = 1.0, **info) -> None:
        def one_round():
            for _ in range(STEPS_PER_ROUND):
                step()
            synchronize()

        benchmark.pedantic(one_round, rounds=size.rounds, iterations=1, warmup_rounds=WARMUP_ROUNDS)
        seq_len = job_config.training.seq_len
        step_seconds = benchmark.stats.stats.median / STEPS_PER_ROUND
        tokens_per_second = job_config.training.local_batch_size * seq_len / step_seconds
        _, train_flops_per_token = model.model_args.get_nparams_and_flops(model, seq_len)
        flops_per_second = flops_share * train_flops_per_token * tokens_per_second
        peak_flops = device_peak_flops()
        benchmark.extra_info.update(
            device=torch.cuda.get_device_name() if CUDA else "cpu",
            torch=torch.__version__,
            dtype=str(compute_dtype(job_config)).removeprefix("torch."),
            steps_per_round=STEPS_PER_ROUND,
            ms_per_step=float(f"{1000 * step_seconds:.4g}"),
            tokens_per_second=round(tokens_per_second, 1),
            peak_flops=peak_flops,
            mfu_percent=percent(flops_per_second / peak_flops),
            mfu_percent_vs_312=percent(flops_per_second / NANOGPT_REFERENCE_PEAK_FLOPS),
            **info,
        )

    return run


@pytest.fixture
def train_batches(shakespeare):
    """nanoGPT's `get_batch` on the train split: pinned and copied asynchronously on CUDA."""

    def batches(job_config):
        training = job_config.training
        tokens = shakespeare.split("train")
        for inputs, targets in RandomBlockTokenDataset(tokens, training.seq_len, training.local_batch_size, seed=1337):
            if CUDA:
                yield (
                    inputs["input"].pin_memory().to(DEVICE, non_blocking=True),
                    targets.pin_memory().to(DEVICE, non_blocking=True),
                )
            else:
                yield inputs["input"], targets

    return batches


def nanogpt_train_step(model, loss_of, batches, job_config):
    """One iteration of nanoGPT's `train.py`, with the config's dtype, AdamW and clip."""
    opt = job_config.optimizer
    optimizer = NanoGPTAdamW(
        model.parameters(),
        lr=opt.lr,
        betas=(opt.beta1, opt.beta2),
        eps=opt.eps,
        weight_decay=opt.weight_decay,
        fused=opt.implementation == "fused",
        foreach=opt.implementation == "foreach",
    )

    def step() -> None:
        for group in optimizer.param_groups:
            group["lr"] = opt.lr
        inputs, targets = next(batches)
        with trainer_dtype(job_config):
            loss = loss_of(inputs, targets) / targets.numel()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), job_config.training.max_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def model_for(build_model, job_config):
    args = replace(nanogpt_args[job_config.model.flavor], vocab_size=65)
    return build_model(args).to(DEVICE)


@pytest.mark.parametrize("compile_as", ["eager", "compiled"])
@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_trainer_train_step(make_trainer, measure, size, compile_as):
    """`Trainer.train_step` as `Trainer.train` calls it: data, forward, backward, clip, AdamW,
    schedule, metrics; compiled means the shipped per-block compile plus the compiled loss."""
    trainer = make_trainer(size.config, compile_setting(compile_as))
    batches = trainer.batch_generator(trainer.dataloader)

    def step():
        trainer.step += 1
        trainer.train_step(batches)

    measure(
        step,
        size,
        trainer.job_config,
        trainer.model_parts[0],
        compile=COMPILE_AS[compile_as],
        adamw=trainer.job_config.optimizer.implementation,
    )


@pytest.mark.parametrize("compile_as", list(COMPILE_AS))
@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_nanogpt_loop_step(build_model, shipped, train_batches, measure, size, compile_as):
    """nanoGPT's `train.py` iteration on the same model: the baseline for the Trainer's overhead.
    `eager` and `compiled` match the Trainer's rows (`compiled`: `parallelize_nanogpt` per
    block plus torchtitan's loss function, compiled); `compiled-whole-model` is nanoGPT's own
    choice, `torch.compile` over the whole forward with the loss in the same graph."""
    job_config, parallel_dims = shipped(size.config, compile_as)
    model = model_for(build_model, job_config)
    if compile_as == "compiled-whole-model":
        loss_of = torch.compile(lambda inputs, targets: cross_entropy_loss(model(inputs), targets))
    else:  # what the Trainer does with the same config
        parallelize_nanogpt(model, parallel_dims, job_config)
        loss_fn = build_cross_entropy_loss(job_config)

        def loss_of(inputs, targets):
            return loss_fn(model(inputs), targets)

    step = nanogpt_train_step(model, loss_of, train_batches(job_config), job_config)
    measure(step, size, job_config, model, compile=COMPILE_AS[compile_as], adamw=job_config.optimizer.implementation)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("size", SIZE_PARAMS)
def test_forward(build_model, shipped, train_batches, measure, size, compiled):
    """Inference throughput (eval mode, no grad); MFU counts the forward's third of 6N + 12LHQT."""
    job_config, _ = shipped(size.config)
    model = model_for(build_model, job_config).eval()
    if compiled:
        model.compile()
    inputs, _ = next(train_batches(job_config))

    @torch.no_grad()
    def forward():
        with trainer_dtype(job_config):
            return model(inputs)

    measure(forward, size, job_config, model, flops_share=1 / 3, compile="whole model" if compiled else "none")
