"""Parity with nanoGPT itself: its own recorded outputs, reproduced (`pytest -k golden`).

Every file of tests/fixtures/nanogpt (and of the folders in $NANOGPT_TITAN_GOLDEN) is checked
by its kind: `forward_*.pt` (GPT.forward on fixed weights), `generate*.pt` (GPT.generate with
a seed) and `trajectory_*.pt` (train.py step by step). The folder's README describes the keys.
"""

import fnmatch
import os
from pathlib import Path

import pytest
import torch

from nanogpt_titan.checkpoint import read_checkpoint, to_nanogpt
from nanogpt_titan.cli import main
from nanogpt_titan.generate import generate
from nanogpt_titan.metrics.records import METRICS_FILE, read_metrics_file
from nanogpt_titan.nanogpt.translation import job_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nanogpt"
GOLDEN_ENV_VAR = "NANOGPT_TITAN_GOLDEN"
PATTERNS = {"forward": "forward_*.pt", "generate": "generate*.pt", "trajectory": "trajectory_*.pt"}
REQUIRED_KEYS = {
    "forward": {"config", "state_dict", "idx", "targets", "logits", "loss"},
    "generate": {"config", "state_dict", "prompt", "sample_seed", "runs"},
    "trajectory": {"config", "init", "batches", "micro_losses", "lrs", "final"},
}
RUN_KEYS = {"temperature", "top_k", "tokens"}


def golden_folders() -> list[Path]:
    extra = [Path(folder) for folder in os.environ.get(GOLDEN_ENV_VAR, "").split(os.pathsep) if folder]
    missing = [str(folder) for folder in extra if not folder.is_dir()]
    if missing:
        raise pytest.UsageError(f"{GOLDEN_ENV_VAR} names {missing}, which are not folders of golden files")
    return [FIXTURES, *extra]


def golden_files(kind: str | None = None) -> list:
    files = sorted(path for folder in golden_folders() for path in folder.glob("*.pt"))
    chosen = files if kind is None else [path for path in files if fnmatch.fnmatch(path.name, PATTERNS[kind])]
    return [pytest.param(path, id=f"{path.parent.name}/{path.name}") for path in chosen]


def load_golden(path: Path, kind: str) -> dict:
    """The file's contents, or a failure naming the file and the first missing key."""
    golden = torch.load(path, weights_only=True)
    entries = [golden] + (golden.get("runs", []) if kind == "generate" else [])
    for entry, required in zip(entries, [REQUIRED_KEYS[kind]] + [RUN_KEYS] * (len(entries) - 1)):
        missing = sorted(required - entry.keys())
        if missing:
            pytest.fail(f"{path}: a {kind} file needs the key {missing[0]!r} (see {FIXTURES / 'README.md'})")
    return golden


class RecordedBatches(list):
    """nanoGPT's recorded batches as the Trainer's dataloader, which it closes when it is done."""

    def close(self) -> None:
        pass


def saved_as_nanogpt_ckpt(golden: dict, weights: str, folder: Path) -> Path:
    """The fixture's weights as the ckpt.pt nanoGPT's train.py writes, for our reader."""
    path = folder / "ckpt.pt"
    model_args = {key: golden["config"][key] for key in ("n_layer", "n_head", "n_embd", "block_size", "bias")}
    vocab_size = golden["config"].get("vocab_size", len(golden[weights]["transformer.wte.weight"]))
    torch.save({"model": golden[weights], "model_args": {**model_args, "vocab_size": vocab_size, "dropout": 0.0}}, path)
    return path


@pytest.mark.parametrize("path", golden_files())
def test_golden_file_is_of_a_known_kind(path):
    kinds = [kind for kind, pattern in PATTERNS.items() if fnmatch.fnmatch(path.name, pattern)]
    assert kinds, f"{path}: unknown kind of golden file; its name must match one of {sorted(PATTERNS.values())}"
    load_golden(path, kinds[0])


@pytest.mark.parametrize("path", golden_files("forward"))
def test_golden_forward(path, tmp_path):
    golden = load_golden(path, "forward")
    model = read_checkpoint(saved_as_nanogpt_ckpt(golden, "state_dict", tmp_path)).build_model()
    with torch.no_grad():
        logits = model(golden["idx"])
    assert (logits - golden["logits"]).abs().max() <= 1e-5
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), golden["targets"].flatten())
    assert abs(loss.item() - golden["loss"].item()) <= 1e-6


@pytest.mark.parametrize("path", golden_files("generate"))
def test_golden_generate(path, tmp_path):
    golden = load_golden(path, "generate")
    model = read_checkpoint(saved_as_nanogpt_ckpt(golden, "state_dict", tmp_path)).build_model()
    max_new_tokens = 2 * golden["config"]["block_size"]
    for run in golden["runs"]:
        generator = torch.Generator().manual_seed(golden["sample_seed"])
        ids = generate(
            model, torch.tensor([golden["prompt"]]), max_new_tokens, run["temperature"], run["top_k"], generator
        )
        assert ids[0].tolist() == run["tokens"], (run["temperature"], run["top_k"])


def nanogpt_loop_here(golden: dict, init: Path, get_lr) -> dict[str, torch.Tensor]:
    """train.py's arithmetic on this machine: from `init`, the recorded batches through a plain
    loop (mean loss / accumulation, backward, clip, AdamW with nanoGPT's two groups at its lr)."""
    config = golden["config"]
    model = read_checkpoint(init).build_model().train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config["learning_rate"],
        betas=(config["beta1"], config["beta2"]),
        eps=1e-8,
    )
    accumulation, batches = config["gradient_accumulation_steps"], iter(golden["batches"])
    for it in range(config["max_iters"] + 1):
        for group in optimizer.param_groups:
            group["lr"] = get_lr(
                it, config["learning_rate"], config["warmup_iters"], config["lr_decay_iters"], config["min_lr"]
            )
        for _ in range(accumulation):
            inputs, targets = next(batches)
            logits = model(inputs)
            (torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten()) / accumulation).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return to_nanogpt(model.state_dict())


def max_difference(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor]) -> float:
    assert ours.keys() == theirs.keys()
    return max((ours[name] - tensor).abs().max().item() for name, tensor in theirs.items())


# The recording's final weights, as another CPU rounds them: nanoGPT's own train.py, replayed on
# an AMD EPYC from the recorded init and batches, ends 6.4e-6 from trajectory_accum2_bias.pt's
# `final` (3.2e-7 from trajectory_accum1.pt's); the Trainer ends bit-identical to that replay.
RECORDING_MACHINE_ROUNDING = 2e-5


def assert_retraces(golden: dict, run: Path, model, init: Path, get_lr) -> None:
    """The run's losses, learning rates and final weights are the recording's (nanoGPT's
    iteration i is step i + 1), its final weights train.py's arithmetic on this machine to the
    bit, and the recording's within another machine's rounding."""
    config = golden["config"]
    records = read_metrics_file(run / METRICS_FILE)
    accumulation = config["gradient_accumulation_steps"]
    micro = golden["micro_losses"]
    expected_losses = [sum(micro[i : i + accumulation]) / accumulation for i in range(0, len(micro), accumulation)]
    assert [r["step"] for r in records] == list(range(1, config["max_iters"] + 2))
    assert max(abs(r["loss"] - loss) for r, loss in zip(records, expected_losses, strict=True)) <= 1e-5
    assert [r["lr"] for r in records] == pytest.approx(golden["lrs"], rel=1e-9, abs=0)
    final = to_nanogpt(model.state_dict())
    assert max_difference(final, nanogpt_loop_here(golden, init, get_lr)) == 0.0
    assert max_difference(final, golden["final"]) <= RECORDING_MACHINE_ROUNDING


@pytest.mark.slow
@pytest.mark.parametrize("path", golden_files("trajectory"))
def test_golden_trajectory(path, tmp_path, make_trainer, nanogpt_get_lr, shakespeare):
    """torchtitan's Trainer, from nanoGPT's init and fed nanoGPT's batches, retraces train.py;
    its settings reach torchtitan through the package's one translation of nanoGPT's config."""
    golden = load_golden(path, "trajectory")
    init = tmp_path / "init"
    assert main(["convert", str(saved_as_nanogpt_ckpt(golden, "init", tmp_path)), str(init)]) == 0
    trainer = make_trainer(
        "debug_model.toml",
        {
            **job_settings(golden["config"]),
            "model.flavor": str(init),
            "checkpoint.enable": True,
            "checkpoint.load_only": True,
            "checkpoint.initial_load_path": str(init),
            "training.dataset_path": str(shakespeare.path),
        },
        dump_folder=tmp_path / "run",
    )
    trainer.dataloader = RecordedBatches(({"input": inputs}, targets) for inputs, targets in golden["batches"])
    trainer.train()
    make_trainer.close()
    assert_retraces(golden, tmp_path / "run", trainer.model_parts[0], init, nanogpt_get_lr)


@pytest.mark.slow
@pytest.mark.parametrize("path", golden_files("trajectory"))
def test_golden_trajectory_from_nanogpts_seed_alone(path, tmp_path, make_trainer, nanogpt_get_lr, shakespeare):
    """With debug.randomness = "nanogpt" and nothing injected, the Trainer draws nanoGPT's
    initial weights and every batch from the seed (1337), in train.py's order (its evaluation
    at iteration 0 included), and retraces train.py."""
    golden = load_golden(path, "trajectory")
    trainer = make_trainer(
        "debug_model.toml",
        {
            **job_settings(golden["config"]),
            "debug.randomness": "nanogpt",
            "checkpoint.enable": False,
            "training.dataset_path": str(shakespeare.path),
        },
        dump_folder=tmp_path / "run",
    )
    (model,) = trainer.model_parts
    assert max_difference(to_nanogpt(model.state_dict()), golden["init"]) <= 1e-7
    drawn, loader = [], trainer.dataloader
    trainer.dataloader = (drawn.append(batch) or batch for batch in loader)
    trainer.train()
    make_trainer.close()
    assert len(drawn) == len(golden["batches"]) - 1  # the recording holds the prefetch after the last iteration
    assert all(
        torch.equal(inputs["input"], x) and torch.equal(targets, y)
        for (inputs, targets), (x, y) in zip(drawn, golden["batches"])
    )
    assert_retraces(golden, tmp_path / "run", model, saved_as_nanogpt_ckpt(golden, "init", tmp_path), nanogpt_get_lr)
