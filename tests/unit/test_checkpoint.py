"""Checkpoints: convert, export, evaluate and sample through the `nanogpt-titan` CLI."""

import argparse
import json
import pickle
import re
import shlex
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from nanogpt_titan.checkpoint import read_checkpoint, to_nanogpt
from nanogpt_titan.hosts import training_command
from nanogpt_titan.model import NanoGPTModelArgs
from nanogpt_titan.optim import NanoGPTAdamW

transformers = pytest.importorskip("transformers")


def assert_same_weights(model, state_dict):
    expected = model.state_dict()
    assert state_dict.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(state_dict[name], tensor), name


# --- convert / export -------------------------------------------------------------------------


def test_nanogpt_ckpt_converts_to_a_dcp_folder_with_its_args(nanogpt_ckpt, tmp_path, capsys, cli):
    path, model = nanogpt_ckpt
    assert cli("convert", path, tmp_path / "dcp") == 0
    assert f"{tmp_path / 'dcp'} " in capsys.readouterr().out.splitlines()[1]  # the model of the printed command
    assert NanoGPTModelArgs.from_json(tmp_path / "dcp" / "model_args.json") == model.model_args
    converted = read_checkpoint(tmp_path / "dcp")
    assert converted.args == model.model_args
    assert_same_weights(model, converted.state_dict)
    assert converted.state_dict["lm_head.weight"] is converted.state_dict["wte.weight"]


@pytest.mark.parametrize(
    "block_size, recipe", [(256, "mini-gpt.toml"), (64, "shakespeare_cpu.toml"), (32, "shakespeare_cpu.toml")]
)
def test_convert_prints_the_recipe_whose_context_the_model_has(random_model, tmp_path, capsys, cli, block_size, recipe):
    args = NanoGPTModelArgs(n_layer=1, n_head=1, n_embd=8, block_size=block_size, vocab_size=65)
    torch.save(random_model(args).state_dict(), tmp_path / "weights.pt")
    capsys.readouterr()
    assert cli("convert", tmp_path / "weights.pt", tmp_path / "dcp", "--n-head", 1) == 0
    command = capsys.readouterr().out.splitlines()[1]
    assert f" {shlex.join(training_command(recipe, {}))} " in command  # the recipe, as the installed host names it
    assert f"--training.seq_len {block_size}" in command


def test_export_to_nanogpt_round_trips_every_tensor_and_claims_nothing_else(nanogpt_ckpt, tmp_path, cli):
    path, model = nanogpt_ckpt
    assert cli("convert", path, tmp_path / "dcp") == 0
    assert cli("export", tmp_path / "dcp", tmp_path / "out" / "ckpt.pt") == 0
    original = torch.load(path, weights_only=True)
    exported = torch.load(tmp_path / "out" / "ckpt.pt", weights_only=True)
    unprefixed = {name.removeprefix("_orig_mod."): t for name, t in original["model"].items()}
    assert exported["model"].keys() == unprefixed.keys()  # both tied names, as nanoGPT saves
    for name, tensor in unprefixed.items():
        assert torch.equal(exported["model"][name], tensor), name
    assert exported["model_args"] == original["model_args"]
    assert exported["config"] == {} and "optimizer" not in exported and exported["iter_num"] == 0


def test_export_for_nanogpts_resume_carries_the_given_dataset_and_adamw(nanogpt_ckpt, tmp_path, cli):
    path, model = nanogpt_ckpt
    assert (
        cli("export", path, tmp_path / "ckpt.pt", "--dataset", "shakespeare_char", "--adamw", 2e-3, 0.8, 0.95, 0.05)
        == 0
    )
    exported = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert exported["config"] == {"dataset": "shakespeare_char"}
    # nanoGPT's train.py --init_from=resume loads it into its two-group AdamW, adopting these settings.
    optimizer = NanoGPTAdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    optimizer.load_state_dict(exported["optimizer"])
    assert [(g["lr"], g["betas"], g["weight_decay"]) for g in optimizer.param_groups] == [
        (2e-3, (0.8, 0.95), 0.05),
        (2e-3, (0.8, 0.95), 0.0),
    ]


def test_export_options_of_a_ckpt_pt_are_refused_for_a_hugging_face_folder(nanogpt_ckpt, tmp_path, capsys, cli):
    path, _ = nanogpt_ckpt
    assert cli("export", path, tmp_path / "hf", "--dataset", "shakespeare_char") == 2
    assert "--dataset and --adamw describe a nanoGPT ckpt.pt" in capsys.readouterr().err
    assert not (tmp_path / "hf").exists()


def test_hf_export_loads_in_transformers_and_computes_the_same_logits(nanogpt_ckpt, tmp_path, cli):
    path, model = nanogpt_ckpt
    assert cli("export", path, tmp_path / "hf") == 0
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert (config["bos_token_id"], config["eos_token_id"]) == (None, None)  # no GPT-2 id 50256 in a char vocabulary
    hf_model = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "hf", attn_implementation="eager").eval()
    tokens = torch.randint(0, 65, (2, 32))
    with torch.no_grad():
        torch.testing.assert_close(hf_model(tokens).logits, model(tokens), atol=1e-5, rtol=0)


def test_hf_gpt2_folder_converts_and_round_trips(tmp_path, cli):
    """transformers' own save (Conv1D layout, biases, head stored once) -> DCP -> HF again."""
    args = NanoGPTModelArgs(n_layer=2, n_head=4, n_embd=32, block_size=16, vocab_size=65, dropout=0.1)
    config = transformers.GPT2Config(
        vocab_size=65,
        n_positions=16,
        n_embd=32,
        n_layer=2,
        n_head=4,
        activation_function="gelu",
    )
    hf_model = transformers.GPT2LMHeadModel(config).eval()
    hf_model.save_pretrained(tmp_path / "hf")
    assert cli("convert", tmp_path / "hf", tmp_path / "dcp") == 0
    converted = read_checkpoint(tmp_path / "dcp")
    assert converted.args == args
    tokens = torch.randint(0, 65, (2, 16))
    with torch.no_grad():
        torch.testing.assert_close(converted.build_model()(tokens), hf_model(tokens).logits, atol=1e-5, rtol=0)
    assert cli("export", tmp_path / "dcp", tmp_path / "hf_again") == 0
    for name, tensor in transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "hf_again").state_dict().items():
        assert torch.equal(tensor, hf_model.state_dict()[name]), name


def test_tanh_gelu_config_converts_with_a_note(tmp_path, capsys, cli):
    config = transformers.GPT2Config(vocab_size=65, n_positions=8, n_embd=16, n_layer=1, n_head=2)
    transformers.GPT2LMHeadModel(config).save_pretrained(tmp_path / "hf")
    assert cli("convert", tmp_path / "hf", tmp_path / "dcp") == 0
    assert "activation_function='gelu_new'" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_bare_state_dict_needs_the_head_count(random_model, tmp_path, capsys, suffix, cli):
    """Head stored once, no compile prefix: shapes give all but n_head."""
    model = random_model(NanoGPTModelArgs(n_layer=1, n_head=4, n_embd=16, block_size=8, vocab_size=65))
    weights = {k: v.clone() for k, v in to_nanogpt(model.state_dict()).items() if k != "lm_head.weight"}
    path = tmp_path / f"weights{suffix}"
    torch.save(weights, path) if suffix == ".pt" else save_file(weights, path)
    assert cli("convert", path, tmp_path / "dcp") == 2
    assert "pass --n-head" in capsys.readouterr().err
    assert not (tmp_path / "dcp").exists()
    assert cli("convert", path, tmp_path / "dcp", "--n-head", 4) == 0
    assert_same_weights(model, read_checkpoint(tmp_path / "dcp").state_dict)


def untied(path: Path) -> None:
    ckpt = torch.load(path, weights_only=True)
    ckpt["model"]["_orig_mod.lm_head.weight"] = ckpt["model"]["_orig_mod.lm_head.weight"] + 1
    torch.save(ckpt, path)


def another_architecture(path: Path) -> None:
    torch.save(
        {"model.layers.0.self_attn.q_proj.weight": torch.zeros(4, 4), "model.embed_tokens.weight": torch.zeros(65, 4)},
        path,
    )


def renamed_layer(path: Path) -> None:
    ckpt = torch.load(path, weights_only=True)
    ckpt["model"]["_orig_mod.transformer.h.0.mlp.c_fc2.weight"] = ckpt["model"].pop(
        "_orig_mod.transformer.h.0.mlp.c_fc.weight"
    )
    torch.save(ckpt, path)


def wider_config(path: Path) -> None:
    ckpt = torch.load(path, weights_only=True)
    ckpt["model_args"]["n_embd"] = 64
    torch.save(ckpt, path)


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


def not_a_checkpoint(path: Path) -> None:
    path.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n")


def pickled_object(path: Path) -> None:
    ckpt = torch.load(path, weights_only=True)
    ckpt["config"]["args"] = argparse.Namespace(dataset="shakespeare_char")  # as some forks save
    torch.save(ckpt, path)


BAD_CHECKPOINTS = {
    "untied head": (untied, "lm_head.weight that differs from wte.weight"),
    "another architecture": (another_architecture, "no token/position embeddings"),
    "renamed key": (
        renamed_layer,
        r"missing keys \['layers.0.mlp.c_fc.weight'\]; unexpected keys \['layers.0.mlp.c_fc2.weight'\]",
    ),
    "config disagrees with shapes": (
        wider_config,
        r"mis-shaped keys \[.*'layers.0.attn.c_attn.weight \(96, 32\) \(expected \(192, 64\)\)",
    ),
    "truncated": (truncated, "not a readable PyTorch checkpoint .*truncated, corrupt"),
    "unknown format": (not_a_checkpoint, "not a readable PyTorch checkpoint .*another format"),
    "pickled object": (pickled_object, "pass --trust-pickle"),
}


@pytest.mark.parametrize("command", ["convert", "export"])
@pytest.mark.parametrize("spoil", BAD_CHECKPOINTS.values(), ids=BAD_CHECKPOINTS.keys())
def test_bad_checkpoint_is_one_error_line_and_writes_nothing(nanogpt_ckpt, tmp_path, capsys, command, spoil, cli):
    path, _ = nanogpt_ckpt
    spoil_file, message = spoil
    spoil_file(path)
    before = sorted(tmp_path.rglob("*"))
    assert cli(command, path, tmp_path / "out") == 2
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert error.startswith(f"nanogpt-titan {command}: error: ")
    assert re.search(message, error), error
    assert sorted(tmp_path.rglob("*")) == before


def test_trusted_pickle_loads_with_the_flag(nanogpt_ckpt, tmp_path, cli):
    path, model = nanogpt_ckpt
    pickled_object(path)
    assert cli("convert", path, tmp_path / "dcp", "--trust-pickle") == 0
    assert_same_weights(model, read_checkpoint(tmp_path / "dcp").state_dict)


@pytest.mark.parametrize("command", ["convert", "export", "evaluate", "sample"])
def test_missing_source_is_named(tmp_path, capsys, command, cli):
    assert cli(command, tmp_path / "nowhere.pt", *(["dst"] if command in ("convert", "export") else [])) == 2
    assert "nowhere.pt: no such file or folder" in capsys.readouterr().err


def test_existing_destination_is_never_overwritten(nanogpt_ckpt, tmp_path, capsys, cli):
    path, _ = nanogpt_ckpt
    (tmp_path / "dcp").mkdir()
    (tmp_path / "dcp" / "mine.txt").write_text("keep")
    assert cli("convert", path, tmp_path / "dcp") == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "dcp").iterdir()] == ["mine.txt"]


def test_folder_of_neither_kind_is_refused(tmp_path, capsys, cli):
    (tmp_path / "empty").mkdir()
    assert cli("convert", tmp_path / "empty", tmp_path / "dcp") == 2
    assert "neither .metadata (a DCP checkpoint) nor config.json" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["evaluate", "sample"])
def test_vocabulary_of_another_text_is_refused(nanogpt_ckpt, tmp_path, capsys, command, cli):
    path, _ = nanogpt_ckpt
    (tmp_path / "other.txt").write_text("abc abc abc\n" * 100)
    assert cli(command, path, "--data", tmp_path / "other.txt") == 2
    assert "vocab_size=65 but the data's character vocabulary has 5" in capsys.readouterr().err


@pytest.mark.parametrize("safetensors", [True, False], ids=["safetensors", "pytorch_model.bin"])
def test_nanogpt_pushed_to_the_hub_converts(nanogpt_hub_folder, tmp_path, cli, safetensors):
    folder, model = nanogpt_hub_folder(safetensors=safetensors)
    assert cli("convert", folder, tmp_path / "dcp") == 0
    converted = read_checkpoint(tmp_path / "dcp")
    assert converted.args == model.model_args
    assert_same_weights(model, converted.state_dict)


def test_a_hugging_face_folder_of_unknown_layout_is_refused_by_its_config(nanogpt_hub_folder, tmp_path, cli, capsys):
    folder, _ = nanogpt_hub_folder()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "n_layer": 2}))
    assert cli("convert", folder, tmp_path / "dcp") == 2
    assert capsys.readouterr().err.strip() == (
        f"nanogpt-titan convert: error: {folder / 'config.json'} describes neither GPT-2 (model_type 'gpt2') nor a "
        "nanoGPT model (model_type 'nanoGPT', or nanoGPT's block_size), so the layout of its weights is unknown "
        "(model_type='llama')"
    )


@pytest.mark.parametrize("damage", ["truncate the data file", "remove the metadata's data file"])
def test_damaged_dcp_folder_is_one_error_line(nanogpt_ckpt, tmp_path, capsys, damage, cli):
    path, _ = nanogpt_ckpt
    assert cli("convert", path, tmp_path / "dcp") == 0
    capsys.readouterr()
    (data_file,) = (tmp_path / "dcp").glob("*.distcp")
    if damage == "truncate the data file":
        data_file.write_bytes(data_file.read_bytes()[:100])
    else:
        data_file.unlink()
    assert cli("export", tmp_path / "dcp", tmp_path / "out.pt") == 2
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert "is not a readable DCP checkpoint (truncated or corrupt?)" in error
    assert not (tmp_path / "out.pt").exists()


def test_interrupted_write_leaves_nothing(nanogpt_ckpt, tmp_path, monkeypatch):
    from nanogpt_titan.checkpoint import write

    path, _ = nanogpt_ckpt
    checkpoint = read_checkpoint(path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(write, "save_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write.export(checkpoint, tmp_path / "hf")
    monkeypatch.setattr(write.torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write.export(checkpoint, tmp_path / "ckpt.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nanogpt"]


def test_the_vocabulary_of_a_nanogpt_meta_pkl_travels_with_the_conversion(
    nanogpt_ckpt, tmp_path, cli, capsys, shakespeare
):
    """A text of as many characters, but other ones, would give a meaningless loss: it is refused."""
    path, _ = nanogpt_ckpt
    (path.parent / "meta.pkl").write_bytes((shakespeare.path / "meta.pkl").read_bytes())
    assert cli("convert", path, tmp_path / "dcp") == 0
    assert read_checkpoint(tmp_path / "dcp").vocabulary == shakespeare.vocabulary
    (tmp_path / "other.txt").write_text("".join(chr(0x3B1 + i) for i in range(64)) + "\n")  # 65 characters
    capsys.readouterr()
    assert cli("evaluate", tmp_path / "dcp", "--data", tmp_path / "other.txt") == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert "was trained on other characters than the data's" in error
    assert "only the model has " in error and "!$&" in error and "only the data has 'αβγ" in error


def test_a_meta_pkl_holding_objects_is_refused_unpickled(nanogpt_ckpt, cli, tmp_path, capsys):
    path, _ = nanogpt_ckpt
    (path.parent / "meta.pkl").write_bytes(pickle.dumps({"itos": argparse.Namespace()}))
    assert cli("convert", path, tmp_path / "dcp") == 2
    assert "meta.pkl is not a nanoGPT meta.pkl" in capsys.readouterr().err
    assert not (tmp_path / "dcp").exists()
