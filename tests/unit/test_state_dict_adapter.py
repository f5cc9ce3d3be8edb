"""Hugging Face GPT-2 weights through torchtitan's own `--checkpoint.initial_load_in_hf`."""

import pytest
import torch

from nanogpt_titan.cli import main
from nanogpt_titan.model.state_dict_adapter import NanoGPTStateDictAdapter

transformers = pytest.importorskip("transformers")


def test_to_hf_stores_the_tied_head_once_and_from_hf_restores_both_names(random_model, tiny_args):
    state_dict = random_model(tiny_args).state_dict()
    adapter = NanoGPTStateDictAdapter(tiny_args, hf_assets_path=None)
    hf = adapter.to_hf(state_dict)
    assert "lm_head.weight" not in hf and hf["transformer.h.0.attn.c_attn.weight"].shape == (8, 24)  # Conv1D
    restored = adapter.from_hf(hf)
    assert restored.keys() == state_dict.keys()
    assert all(torch.equal(restored[name], tensor) for name, tensor in state_dict.items())


@pytest.mark.slow
def test_an_hf_folder_trains_and_validates_as_its_dcp_conversion(run_trainer, tmp_path):
    """Load-only validation from transformers' own save equals the same from `nanogpt-titan convert`."""
    hf, dcp = tmp_path / "hf", tmp_path / "dcp"
    config = transformers.GPT2Config(vocab_size=65, n_positions=64, n_embd=32, n_layer=2, n_head=4,
                                     activation_function="gelu", bos_token_id=None, eos_token_id=None)
    transformers.GPT2LMHeadModel(config).save_pretrained(hf)
    assert main(["convert", str(hf), str(dcp)]) == 0
    load_only = ["--checkpoint.enable", "--checkpoint.load_only", "--training.steps", "1", "--validation.freq", "1",
                 "--optimizer.lr", "0"]
    # torchtitan finds HF weights through the adapter's `hf_assets_path`, given by `--model.hf_assets_path`
    (from_hf,) = run_trainer("debug_model.toml", "--model.flavor", str(hf), "--model.hf_assets_path", str(hf),
                             "--checkpoint.initial_load_in_hf", *load_only, dump_folder=tmp_path / "from_hf")
    (from_dcp,) = run_trainer("debug_model.toml", "--model.flavor", str(dcp), "--checkpoint.initial_load_path",
                              str(dcp), *load_only, dump_folder=tmp_path / "from_dcp")
    for key in ("loss", "val_loss", "val_loss_exact"):
        assert from_hf[key] == from_dcp[key], key


@pytest.mark.slow
def test_a_run_ends_with_its_weights_in_hugging_face_layout(make_trainer, tmp_path):
    """`--checkpoint.last_save_in_hf`: the last save is GPT-2's names and Conv1D layout, head stored once."""
    from safetensors.torch import load_file

    trainer = make_trainer("debug_model.toml", "--training.steps", "2", "--validation.no-enable", "--checkpoint.enable",
                           "--checkpoint.last_save_model_only", "--checkpoint.last_save_in_hf", dump_folder=tmp_path / "run")
    trainer.train()
    (model,) = trainer.model_parts
    expected = NanoGPTStateDictAdapter(model.model_args, hf_assets_path=None).to_hf(model.state_dict())
    (saved_file,) = (tmp_path / "run" / "checkpoint" / "step-2").glob("*.safetensors")
    saved = load_file(saved_file)
    assert saved.keys() == expected.keys() and "lm_head.weight" not in saved
    assert all(torch.equal(saved[name], tensor) for name, tensor in expected.items())
