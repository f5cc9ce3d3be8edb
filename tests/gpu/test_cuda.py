"""CUDA checks: `pytest -m gpu` on a CUDA machine. Skipped, saying why, where there is none.

Nothing here touches CUDA at import: the skip condition only asks whether a device exists.
"""

import json

import pytest
import torch
import torch.nn.functional as F

from nanogpt_titan.model import NanoGPTModelArgs
from nanogpt_titan.parallel import compile_blocks

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on a GPU machine)"),
]
ARGS = NanoGPTModelArgs(n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=65, bias=False)
# bf16 keeps 8 significant bits (relative step 2^-8 = 0.0039). Logits of this model are O(1)
# and pass through 4 blocks of bf16 matmuls, so errors of a few steps are expected: 0.05 is
# ~13 steps of slack on a single logit, while the loss, a mean over 16k tokens, must agree to 1%.
BF16_LOGIT_ATOL = 0.05
BF16_LOSS_RTOL = 0.01


def batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    windows = torch.randint(0, 65, (8, 65), generator=torch.Generator().manual_seed(seed))
    return windows[:, :-1], windows[:, 1:]


def test_fp32_logits_and_gradients_match_the_oracle(random_model, hf_oracle):
    model = random_model(ARGS)
    oracle = hf_oracle(model).cuda()
    model.cuda()
    inputs, targets = (t.cuda() for t in batch())
    logits, oracle_logits = model(inputs), oracle(inputs).logits
    torch.testing.assert_close(logits, oracle_logits, atol=1e-4, rtol=1e-4)
    F.cross_entropy(logits.flatten(0, 1), targets.flatten()).backward()
    F.cross_entropy(oracle_logits.flatten(0, 1), targets.flatten()).backward()
    torch.testing.assert_close(model.wte.weight.grad, oracle.transformer.wte.weight.grad, atol=1e-5, rtol=1e-3)


def test_bf16_autocast_tracks_the_fp32_oracle(random_model, hf_oracle):
    model = random_model(ARGS)
    oracle = hf_oracle(model).cuda()
    model.cuda()
    inputs, targets = (t.cuda() for t in batch())
    with torch.no_grad():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(inputs).float()
        oracle_logits = oracle(inputs).logits
    torch.testing.assert_close(logits, oracle_logits, atol=BF16_LOGIT_ATOL, rtol=0)
    loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    oracle_loss = F.cross_entropy(oracle_logits.flatten(0, 1), targets.flatten())
    assert loss.item() == pytest.approx(oracle_loss.item(), rel=BF16_LOSS_RTOL)


@pytest.mark.parametrize("autocast", [False, True], ids=["fp32", "bf16"])
def test_compiled_equals_eager_on_cuda(random_model, autocast):
    torch._dynamo.reset()
    eager, compiled = random_model(ARGS).cuda(), random_model(ARGS).cuda()
    compile_blocks(compiled, "inductor")  # as both hosts' parallelize_fn compile
    inputs, _ = batch()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        expected, got = eager(inputs.cuda()).float(), compiled(inputs.cuda()).float()
    torch.testing.assert_close(got, expected, atol=BF16_LOGIT_ATOL if autocast else 1e-4, rtol=0 if autocast else 1e-4)


def test_mini_gpt_trains_with_fused_adamw_and_its_loss_falls(make_trainer, tmp_path):
    trainer = make_trainer(
        "mini-gpt.toml",
        "--training.steps",
        "100",
        "--validation.freq",
        "100",
        "--validation.steps",
        "10",
        dump_folder=tmp_path / "mini",
    )
    (optimizer,) = trainer.optimizers.optimizers
    assert optimizer.defaults["fused"] is True
    assert all(p.is_cuda for group in optimizer.param_groups for p in group["params"])
    trainer.train()
    records = [json.loads(line) for line in (tmp_path / "mini" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 100
    assert sum(r["loss"] for r in records[-10:]) / 10 < sum(r["loss"] for r in records[:10]) / 10 - 1.0
    assert records[-1]["val_loss"] < 3.0


@pytest.mark.parametrize("nanogpt_ckpt", [False], indirect=True)
def test_load_only_validation_on_cuda(nanogpt_ckpt, run_trainer, tmp_path):
    from nanogpt_titan.checkpoint import read_checkpoint
    from nanogpt_titan.cli import main
    from nanogpt_titan.data.text import data_folder
    from nanogpt_titan.evaluate import mean_loss, random_batches

    path, _ = nanogpt_ckpt
    assert main(["convert", str(path), str(tmp_path / "dcp")]) == 0
    dcp = str(tmp_path / "dcp")
    (record,) = run_trainer(
        "debug_model.toml",
        "--model.flavor",
        dcp,
        "--checkpoint.enable",
        "--checkpoint.load_only",
        "--checkpoint.initial_load_path",
        dcp,
        "--training.steps",
        "1",
        "--validation.freq",
        "1",
        "--optimizer.lr",
        "0",
        "--training.seq_len",
        "32",
        "--validation.seq_len",
        "32",
    )
    val = data_folder().split("val")
    direct = mean_loss(read_checkpoint(dcp).build_model(), random_batches(val, 32, 8, 5, seed=1337))
    assert abs(record["val_loss"] - direct) <= 1e-4


def test_dataset_state_restores_the_cuda_generator(token_file):
    """Dropout on CUDA draws from the CUDA generator: a resumed run must get it back."""
    from nanogpt_titan.data.windows import RandomBlockTokenDataset

    dataset = RandomBlockTokenDataset(token_file(range(100)), seq_len=8, batch_size=2, seed=0)
    state = dataset.state_dict()
    expected = torch.rand(4, device="cuda")
    dataset.load_state_dict(state)
    assert torch.equal(torch.rand(4, device="cuda"), expected)


def test_nanogpts_initial_weights_on_cuda_are_those_it_draws_on_the_cpu():
    """debug.randomness = "nanogpt": the weights are drawn on the CPU, as nanoGPT draws them, then placed."""
    from nanogpt_titan.model import NanoGPT
    from nanogpt_titan.nanogpt_draws import initial_weights
    from nanogpt_titan.randomness import Randomness

    with torch.device("meta"):
        model = NanoGPT(ARGS, Randomness("nanogpt", 1337).model_initialiser())
    model.to_empty(device="cuda")
    with torch.no_grad():
        model.init_weights()
    expected, generator_after = initial_weights(ARGS, 1337)
    assert all(torch.equal(weight.cpu(), expected[name]) for name, weight in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), generator_after)
