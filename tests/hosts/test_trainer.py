"""End to end through torchtitan's own Trainer and entry point, on CPU."""

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import torch

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.hosts import installed_host

EVERY_STEP = {"step", "loss", "lr"}
LOG_STEPS = EVERY_STEP | {
    "grad_norm",
    "tokens_per_second_per_device",
    "tokens_per_second_global",
    "mfu_per_device",
    "time_ms",
}


@pytest.mark.slow
def test_debug_run_learns_validates_and_logs_every_step(run_trainer, nanogpt_get_lr):
    records = run_trainer("debug_model.toml", {"training.steps": 40, "validation.freq": 20})
    assert [r["step"] for r in records] == list(range(1, 41))
    validated = {r["step"]: r["val_loss"] for r in records if "val_loss" in r}
    assert set(validated) == {1, 20, 40}
    for record in records:  # debug_model.toml: log_freq 10
        keys = LOG_STEPS if record["step"] in (1, 10, 20, 30, 40) else EVERY_STEP
        assert record.keys() - {"val_loss", "train_loss_estimate", "val_loss_exact"} == keys, record
    logged = [r for r in records if "mfu_per_device" in r]
    assert all(r["tokens_per_second_per_device"] > 0 and r["mfu_per_device"] > 0 and r["time_ms"] > 0 for r in logged)
    assert all(r["tokens_per_second_global"] == r["tokens_per_second_per_device"] for r in logged)  # one process
    assert all("train_loss_estimate" in r for r in records if "val_loss" in r)
    assert [r["step"] for r in records if "val_loss_exact" in r] == [40]  # the last validation
    first, last = records[:5], records[-5:]
    assert sum(r["loss"] for r in last) < sum(r["loss"] for r in first) - 5 * 0.5
    assert validated[40] < validated[1] - 0.5
    for record in records:  # debug_model.toml: lr 1e-3, warmup 10, lr_decay_iters 100, min_lr 1e-4
        assert record["lr"] == pytest.approx(nanogpt_get_lr(record["step"] - 1, 1e-3, 10, 100, 1e-4), rel=1e-12)


@pytest.mark.slow
def test_trainer_with_compile_enabled_matches_eager(run_trainer, tmp_path):
    """Through torchtitan's Trainer: compiled blocks and compiled loss, the eager losses."""
    common = {"training.steps": 4, "validation.freq": 4}
    eager = run_trainer("debug_model.toml", common, dump_folder=tmp_path / "eager")
    compiled = run_trainer("debug_model.toml", {**common, "compile.enable": True}, dump_folder=tmp_path / "compiled")
    assert [r["step"] for r in compiled] == [r["step"] for r in eager]
    for key in ("loss", "grad_norm", "val_loss"):
        logged = [(c[key], e[key]) for c, e in zip(compiled, eager) if key in e]
        assert logged and [key in c for c in compiled] == [key in e for e in eager], key
        assert [c for c, _ in logged] == pytest.approx([e for _, e in logged], rel=1e-5), key


@pytest.mark.slow
def test_device_values_are_read_once_per_logging_step(run_trainer, tmp_path, monkeypatch):
    """Host syncs (`Tensor.item`, `Tensor.tolist`) by torchtitan's Trainer and this package scale
    with steps / log_freq, not with steps: doubling both leaves their count unchanged, while the
    losses of every step are still logged. (AdamW's reads of its host-side step counters are
    not device reads and are not counted.)"""
    reads = []

    def counted(read):
        def read_and_count(tensor):
            caller = sys._getframe(1).f_code.co_filename
            if f"{os.sep}torchtitan{os.sep}" in caller or f"{os.sep}nanogpt_titan{os.sep}" in caller:
                reads.append(caller)
            return read(tensor)

        return read_and_count

    for method in ("item", "tolist"):
        monkeypatch.setattr(torch.Tensor, method, counted(getattr(torch.Tensor, method)))

    def syncs(steps: int, log_freq: int) -> int:
        reads.clear()
        records = run_trainer(
            "debug_model.toml",
            {"training.steps": steps, "metrics.log_freq": log_freq, "validation.enable": False},
            dump_folder=tmp_path / f"{steps}-{log_freq}",
        )
        assert [r["step"] for r in records] == list(range(1, steps + 1)) and all("loss" in r for r in records)
        return len(reads)

    assert syncs(20, 10) == syncs(40, 20) < syncs(20, 1)


@pytest.mark.slow
def test_train_then_sample_and_evaluate_the_run_folder(run_trainer, tmp_path, cli, capsys, caplog):
    """nanoGPT's train-then-sample.py, here: the run folder holds a checkpoint with its model args
    and vocabulary, so the commands need no --n-head and sample needs no text."""
    import logging

    run, settings = tmp_path / "run", {"training.steps": 5, "validation.freq": 2, "checkpoint.interval": 2}
    with caplog.at_level(logging.INFO):
        run_trainer("debug_model.toml", settings, dump_folder=run)
    assert "Run summary:" in caplog.text and f"sample the model: nanogpt-titan sample {run}" in caplog.text
    summary = re.search(
        r"val loss: final \d\.\d{4} at step 4 \(exact \d\.\d{4}\), best \d\.\d{4} at step \d", caplog.text
    )
    assert summary
    # The README's promise: the last keep_latest_k (2) interval saves, and the final step's beside them.
    assert sorted(p.name for p in (run / "checkpoint").iterdir()) == ["step-2", "step-4", "step-5"]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert run_trainer("debug_model.toml", settings, dump_folder=run)[-1]["step"] == 5  # again: nothing to do
    assert (
        f"The run in {run} is complete (step 5 of training.steps=5): nothing left to train." in caplog.text
        and summary[0] in caplog.text
    )
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NANOGPT_TITAN_DATA", str(tmp_path / "no-such-text.txt"))  # sample reads the recorded vocabulary
        assert cli("sample", run, "--num-samples", 1, "--max-new-tokens", 20, "--start", "ROMEO:") == 0
    out = capsys.readouterr()
    assert out.out.startswith("ROMEO:") and "step-5" in out.err
    assert cli("evaluate", run, "--eval-iters", 2, "--batch-size", 4) == 0
    assert "exact val loss" in capsys.readouterr().out


def wandb_history(run_file: Path) -> dict[int, dict]:
    """The history rows of an offline W&B run, by step. The file is a 7-byte header, then
    LevelDB-log records (32 KiB blocks; a 7-byte header each: checksum, length, type) whose
    payloads, joined from first to last fragment, are wandb's `Record` protobufs."""
    import json

    from wandb.proto.wandb_internal_pb2 import Record

    data, block, position, payload, rows = run_file.read_bytes(), 32 * 1024, 7, b"", {}
    while position + 7 <= len(data):
        if block - position % block < 7:  # a block's zero-filled tail
            position += block - position % block
            continue
        length, kind = int.from_bytes(data[position + 4 : position + 6], "little"), data[position + 6]
        payload += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or its last fragment
            record, payload = Record.FromString(payload), b""
            if record.WhichOneof("record_type") == "history":
                rows[record.history.step.num] = {
                    item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item
                }
    return rows


@pytest.mark.slow
def test_tensorboard_and_offline_wandb_receive_the_metrics_and_wandb_nanogpts_keys(run_trainer, tmp_path, monkeypatch):
    """W&B holds torchtitan's keys and nanoGPT's, at nanoGPT's iterations: the row of iteration
    i (our step i + 1) has that step's loss and lr and the evaluation after i updates."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    dump = tmp_path / "logged"
    records = run_trainer(
        "debug_model.toml",
        {
            "training.steps": 4,
            "validation.freq": 2,
            "metrics.log_freq": 2,
            "metrics.enable_tensorboard": True,
            "metrics.enable_wandb": True,
        },
        dump_folder=dump,
    )
    (events,) = (dump / "tb").rglob("events.out.tfevents.*")
    tags = set(EventAccumulator(str(events.parent)).Reload().Tags()["scalars"])
    assert {"loss_metrics/global_avg_loss", "validation_metrics/loss", "train_loss_estimate"} <= tags
    assert {"lr", "lr/AdamW/0"} & tags  # torchtitan's own name for it: 0.2's, 0.3's (per optimizer and group)
    (run_file,) = (dump / "tb").rglob("wandb/offline-run-*/run-*.wandb")
    rows = wandb_history(run_file)
    assert {"loss_metrics/global_avg_loss", "validation_metrics/loss"} <= rows[2].keys()
    for record in records:
        row = rows[record["step"]]
        assert (row["iter"], row["train/loss"], row["lr"]) == (record["step"] - 1, record["loss"], record["lr"])
        assert row.get("mfu") == record.get("mfu_per_device")
    assert [(rows[step]["iter"], rows[step]["val/loss"]) for step in (3, 5)] == [
        (2, records[1]["val_loss"]),
        (4, records[3]["val_loss"]),
    ]
    assert rows[3]["train/loss_estimate"] == records[1]["train_loss_estimate"]


@pytest.mark.slow
@pytest.mark.parametrize("randomness", ["rank_invariant", "nanogpt"])
def test_interrupted_run_resumes_bit_for_bit(run_trainer, tmp_path, randomness):
    """Killed after its step-5 checkpoint, resumed to step 10: the same steps 6..10 as one run.

    Dropout is on, so the global RNG must be restored along with model, optimizer, schedule
    and window stream (or nanoGPT's batch sequence, whose draws dropout's interleave); the
    metrics file keeps one row per step.
    """
    from nanogpt_titan.model import NanoGPTModelArgs

    flavor = tmp_path / "dropout.json"
    NanoGPTModelArgs(n_layer=2, n_head=2, n_embd=64, block_size=64, dropout=0.2).to_json(flavor)
    common = {
        "model.flavor": str(flavor),
        "checkpoint.enable": True,
        "checkpoint.interval": 5,
        "checkpoint.last_save_model_only": False,
        "validation.freq": 5,
        "metrics.log_freq": 5,
        "debug.randomness": randomness,
    }
    uninterrupted = run_trainer("debug_model.toml", {"training.steps": 10, **common}, dump_folder=tmp_path / "one")
    run_trainer("debug_model.toml", {"training.steps": 5, **common}, dump_folder=tmp_path / "two")
    resumed = run_trainer("debug_model.toml", {"training.steps": 10, **common}, dump_folder=tmp_path / "two")

    def trajectory(records):
        return [(r["step"], r["loss"], r.get("grad_norm"), r["lr"], r.get("val_loss")) for r in records]

    assert [r["step"] for r in resumed] == list(range(1, 11))
    assert trajectory(resumed) == trajectory(uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize("nanogpt_ckpt", [False], indirect=True)
def test_load_only_validation_of_a_converted_nanogpt_checkpoint(
    nanogpt_ckpt, tmp_path, run_trainer, cli, capsys, monkeypatch
):
    """The lab's steps: convert, then the command convert prints, as printed, from another
    directory: one lr-0 step that validates the loaded weights with the CPU recipe's batches (the
    model's context is neither recipe's), and never another model: in the folder of an earlier
    run it is refused, naming both."""
    import json
    import shlex
    import subprocess

    from nanogpt_titan.checkpoint import read_checkpoint
    from nanogpt_titan.data.text import data_folder
    from nanogpt_titan.evaluate import mean_loss, random_batches
    from nanogpt_titan.hosts import override_arguments

    path, _ = nanogpt_ckpt
    ckpt = torch.load(path, weights_only=True)
    ckpt["model"]["_orig_mod.transformer.wte.weight"].mul_(30)  # a loss no fresh init comes near
    torch.save(ckpt, path)
    dcp_folder, earlier_run = tmp_path / "dcp", tmp_path / "earlier"
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert cli("convert", path, dcp_folder) == 0
    printed = shlex.split(capsys.readouterr().out.splitlines()[1])
    assert printed[:5] == ["torchrun", "--standalone", "--nproc_per_node=1", "-m", "torchtitan.train"]
    dump_flag = override_arguments({"job.dump_folder": "."})[0]
    dump_folder = Path(printed[printed.index(dump_flag) + 1])
    assert dump_folder == tmp_path / "outputs" / "validate-dcp"  # under the directory convert ran in

    run_trainer("debug_model.toml", {"training.steps": 2, "validation.enable": False}, dump_folder=earlier_run)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    into_the_earlier_run = [str(earlier_run) if arg == str(dump_folder) else arg for arg in printed]
    refused = subprocess.run(into_the_earlier_run, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0
    assert re.search(f"names {dcp_folder}, but .* holds {earlier_run / 'checkpoint' / 'step-2'}", refused.stderr)
    validated = subprocess.run(printed, capture_output=True, text=True, timeout=300)
    assert validated.returncode == 0, validated.stderr[-3000:]
    assert f"loaded: {dcp_folder}" in validated.stdout + validated.stderr
    (record,) = [json.loads(line) for line in (dump_folder / "metrics.jsonl").read_text().splitlines()]
    model = read_checkpoint(dcp_folder).build_model()
    val = data_folder().split("val")
    direct = mean_loss(model, random_batches(val, 32, 12, 20, seed=1337))  # shakespeare_cpu.toml: batch 12, 20 steps
    assert abs(record["val_loss"] - direct) <= 1e-4
    assert not (dump_folder / "checkpoint").exists()  # load_only saves nothing


@pytest.mark.slow
def test_a_user_error_ends_a_training_run_in_one_line_and_leaves_nothing(tmp_path, run_train_sh):
    """Found once the model is built: the latest a setting is refused before the first step.
    (Each error's message is tested where it is raised; test_data_parallel has one at start.)"""
    result = run_train_sh({"lr_scheduler.total_steps": 10, "job.dump_folder": str(tmp_path / "run")})
    fact = (
        "lr_scheduler.total_steps=10 equals lr_scheduler.warmup_steps (nanoGPT's lr_decay_iters and warmup_iters): "
        "nanoGPT's get_lr divides zero by zero at iteration 10; set them apart"
    )
    output = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode != 0
    assert output[-1].endswith(f"nanogpt_titan: error: {fact}") or fact in output[-1], output[-1]
    assert [line for line in output if "nanogpt_titan: error:" in line] == [output[-1]]  # said once
    assert not any("Traceback" in line for line in output)
    assert not (tmp_path / "run").exists()


def test_a_config_file_that_is_not_a_recipe_is_one_line(tmp_path, run_train_sh):
    """On 0.2 a TOML file is the recipe; on the Configurable releases a shipped one names its
    config function. A file that is neither is refused before torchtitan starts."""
    missing = tmp_path / "nope.toml"
    result = run_train_sh(environment={"CONFIG_FILE": str(missing)})
    reason = {"v0_2": r"is not a file; name a TOML config, e.g. one of \S+/train_configs/\*\.toml"}.get(
        installed_host(), r"is not one of the shipped recipes; torchtitan \S+ takes config functions: CONFIG=one of .*"
    )
    assert result.returncode != 0
    assert re.fullmatch(
        rf"run_train.sh: error: CONFIG_FILE={missing} {reason}", (result.stdout + result.stderr).strip()
    )


@pytest.mark.slow
def test_a_run_on_a_gpt2_bpe_folder_records_its_vocabulary_and_samples_through_tiktoken(
    run_trainer, tmp_path, cli, capsys, monkeypatch
):
    """A folder without meta.pkl is GPT-2 BPE: the model gets nanoGPT's 50304 rows, the run
    records the vocabulary, and `sample RUN` decodes with tiktoken's gpt2 encoding."""
    import json

    import numpy as np

    from nanogpt_titan.data import vocabulary

    folder = tmp_path / "owt"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, size in (("train.bin", 20_000), ("val.bin", 2_000)):
        rng.integers(0, 50257, size, dtype=np.uint16).tofile(folder / name)
    run = tmp_path / "run"
    records = run_trainer(
        "debug_model.toml",
        {
            "training.dataset": "nanogpt_train",
            "validation.dataset": "nanogpt_validation",
            "training.dataset_path": str(folder),
            "training.steps": 2,
            "validation.freq": 2,
        },
        dump_folder=run,
    )
    assert records[-1]["val_loss"] > 10  # ln(50304) = 10.8: an untrained model on random BPE ids
    assert json.loads((run / "model_args.json").read_text())["vocab_size"] == 50304
    assert json.loads((run / "vocabulary.json").read_text()) == {"tokenizer": "gpt2"}

    class Encoding:  # GPT-2's BPE files are a download: ids shown as numbers
        encode = staticmethod(lambda text, allowed_special=(): [int(word) for word in text.split()])
        decode = staticmethod(lambda ids: " ".join(map(str, ids)))

    monkeypatch.setattr(vocabulary, "gpt2_encoding", Encoding)
    capsys.readouterr()
    assert cli("sample", run, "--start", "50256 11", "--num-samples", 1, "--max-new-tokens", 3) == 0
    sample = capsys.readouterr().out.splitlines()[0].split()
    assert sample[:2] == ["50256", "11"] and len(sample) == 5 and all(0 <= int(i) < 50304 for i in sample)


@pytest.mark.slow
def test_a_load_only_run_in_the_folder_of_another_run_is_refused_naming_both(run_trainer, tmp_path):
    """torchtitan would resume the folder's run and ignore the checkpoint the run names."""
    earlier, named = tmp_path / "earlier", tmp_path / "named"
    run_trainer("debug_model.toml", {"training.steps": 2, "validation.enable": False}, dump_folder=earlier)
    shutil.copytree(earlier / "checkpoint" / "step-2", named)
    with pytest.raises(
        NanoGPTTitanError,
        match=re.escape(f"this load-only run names {named}, but ")
        + ".*"
        + re.escape(f"={earlier} already holds {earlier / 'checkpoint' / 'step-2'}"),
    ):
        run_trainer(
            "debug_model.toml",
            {"training.steps": 3, "checkpoint.load_only": True, "checkpoint.initial_load_path": str(named)},
            dump_folder=earlier,
        )


@pytest.mark.slow
def test_a_run_resumed_or_loaded_as_another_model_is_refused_naming_both(run_trainer, make_trainer, tmp_path):
    """A run folder holds one model: resumed with other heads, or its checkpoint loaded into a
    model of other sizes, each is refused before anything is written."""
    earlier, new = tmp_path / "earlier", tmp_path / "new"
    run_trainer(
        "debug_model.toml",
        {"training.steps": 2, "validation.enable": False, "checkpoint.enable": True},
        dump_folder=earlier,
    )
    step = earlier / "checkpoint" / "step-2"
    with pytest.raises(
        NanoGPTTitanError,
        match=re.escape(f"{step} holds another model than this run's (n_layer=2, n_head=4,")
        + ".*"
        + re.escape("n_head=2 (this run's 4)"),
    ):
        make_trainer(
            "debug_model.toml",
            {
                "training.steps": 4,
                "checkpoint.enable": True,
                "model.flavor": "n_layer=2,n_head=4,n_embd=64,block_size=64",
            },
            dump_folder=earlier,
        )
    with pytest.raises(
        NanoGPTTitanError,
        match=re.escape(f"{step} holds another model than this run's")
        + ".*"
        + re.escape("n_layer=2 (this run's 4)")
        + ".*"
        + re.escape("n_embd=64 (this run's 128)"),
    ):
        make_trainer(
            "debug_model.toml",
            {"model.flavor": "shakespeare-cpu", "checkpoint.enable": True, "checkpoint.initial_load_path": str(step)},
            dump_folder=new,
        )
    assert not new.exists()
