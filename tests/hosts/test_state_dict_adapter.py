"""Hugging Face GPT-2 weights through torchtitan's own `--checkpoint.initial_load_in_hf`, on either host."""

import pytest
import torch

from nanogpt_titan.cli import main
from nanogpt_titan.errors import CheckpointError
from nanogpt_titan.hosts import override_arguments
from nanogpt_titan.hosts.state_dict_adapter import NanoGPTStateDictAdapter

transformers = pytest.importorskip("transformers")


def test_to_hf_stores_the_tied_head_once_and_from_hf_restores_both_names(random_model, tiny_args):
    state_dict = random_model(tiny_args).state_dict()
    adapter = NanoGPTStateDictAdapter(tiny_args, hf_assets_path=None)
    hf = adapter.to_hf(state_dict)
    assert "lm_head.weight" not in hf and hf["transformer.h.0.attn.c_attn.weight"].shape == (8, 24)  # Conv1D
    restored = adapter.from_hf(hf)
    assert restored.keys() == state_dict.keys()
    assert all(torch.equal(restored[name], tensor) for name, tensor in state_dict.items())


@pytest.mark.parametrize("stored_head", ["lm_head.weight", "transformer.wte.weight"])
def test_a_nanogpt_folder_is_read_in_its_own_layout_under_its_stored_names(nanogpt_hub_folder, stored_head):
    """Linear projections, as the folder's config.json says (c_proj is square: shapes cannot tell)."""
    from safetensors.torch import load_file

    folder, model = nanogpt_hub_folder(stored_head)
    adapter = NanoGPTStateDictAdapter(model.model_args, hf_assets_path=str(folder))
    stored = load_file(folder / "model.safetensors")
    hf = adapter.to_hf(model.state_dict())
    assert hf.keys() == stored.keys() and all(torch.equal(hf[name], tensor) for name, tensor in stored.items())
    adapter.get_hf_storage_reader(str(folder))  # names and shapes check out
    restored = adapter.from_hf(stored)
    assert all(torch.equal(restored[name], tensor) for name, tensor in model.state_dict().items())


def test_gpt2_names_saved_without_the_transformer_prefix_are_read(random_model, tiny_args, tmp_path):
    """transformers' GPT2Model (as OpenAI's gpt2 on the Hub) saves `h.0...`, `wte.weight`."""
    from safetensors.torch import save_file

    model = random_model(tiny_args)
    adapter = NanoGPTStateDictAdapter(tiny_args, hf_assets_path=None)
    unprefixed = {name.removeprefix("transformer."): t for name, t in adapter.to_hf(model.state_dict()).items()}
    save_file(unprefixed, tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    adapter = NanoGPTStateDictAdapter(tiny_args, hf_assets_path=str(tmp_path))
    assert adapter.to_hf(model.state_dict()).keys() == unprefixed.keys()
    adapter.get_hf_storage_reader(str(tmp_path))


CONVERT_INSTEAD = (
    "and torchtitan's --checkpoint.initial_load_in_hf reads this model's .safetensors only: convert "
    "the folder instead, nanogpt-titan convert {folder} DST, then load DST with "
    "--checkpoint.initial_load_path DST (without --checkpoint.initial_load_in_hf)"
)


def test_a_folder_with_pytorch_model_bin_only_is_one_line_naming_the_file_and_convert(nanogpt_hub_folder):
    folder, model = nanogpt_hub_folder(safetensors=False)
    with pytest.raises(CheckpointError) as error:
        NanoGPTStateDictAdapter(model.model_args, str(folder)).get_hf_storage_reader(str(folder))
    assert str(error.value) == f"{folder / 'pytorch_model.bin'} is a pickle, " + CONVERT_INSTEAD.format(folder=folder)


def test_a_folder_whose_weights_are_not_this_model_is_one_line_naming_the_file_and_convert(nanogpt_hub_folder):
    """A nanoGPT folder whose config.json claims GPT-2: the Conv1D shapes it asks for are not stored."""
    folder, model = nanogpt_hub_folder()
    (folder / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(CheckpointError) as error:
        NanoGPTStateDictAdapter(model.model_args, str(folder)).get_hf_storage_reader(str(folder))
    message = str(error.value)
    assert message.startswith(
        f"{folder / 'model.safetensors'} do not hold {model.model_args} in the gpt2 layout that "
        f"{folder}/config.json names ({override_arguments({'model.hf_assets_path': '.'})[0]}): "
        "transformer.h.0.attn.c_attn.weight "
        "(96, 32) (expected (32, 96));"
    )
    assert message.endswith(CONVERT_INSTEAD.format(folder=folder)) and "\n" not in message


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["gpt2", "nanogpt"])
def test_an_hf_folder_trains_and_validates_as_its_dcp_conversion(run_trainer, tmp_path, nanogpt_hub_folder, layout):
    """Load-only validation from the folder as it is equals the same from `nanogpt-titan convert`:
    transformers' own GPT-2 save, and a nanoGPT model pushed to the Hub (as the lab's)."""
    hf, dcp = tmp_path / "hf", tmp_path / "dcp"
    if layout == "gpt2":
        config = transformers.GPT2Config(
            vocab_size=65,
            n_positions=64,
            n_embd=32,
            n_layer=2,
            n_head=4,
            activation_function="gelu",
            bos_token_id=None,
            eos_token_id=None,
        )
        transformers.GPT2LMHeadModel(config).save_pretrained(hf)
    else:
        hf, _ = nanogpt_hub_folder()
    assert main(["convert", str(hf), str(dcp)]) == 0
    load_only = {
        "checkpoint.enable": True,
        "checkpoint.load_only": True,
        "training.steps": 1,
        "validation.freq": 1,
        "optimizer.lr": 0,
        "training.seq_len": 32,
        "validation.seq_len": 32,
    }
    # torchtitan finds HF weights through the adapter's `hf_assets_path`, given by `--model.hf_assets_path`
    (from_hf,) = run_trainer(
        "debug_model.toml",
        {"model.flavor": str(hf), "model.hf_assets_path": str(hf), "checkpoint.initial_load_in_hf": True, **load_only},
        dump_folder=tmp_path / "from_hf",
    )
    (from_dcp,) = run_trainer(
        "debug_model.toml",
        {"model.flavor": str(dcp), "checkpoint.initial_load_path": str(dcp), **load_only},
        dump_folder=tmp_path / "from_dcp",
    )
    for key in ("loss", "val_loss", "val_loss_exact"):
        assert from_hf[key] == from_dcp[key], key


@pytest.mark.slow
def test_a_run_ends_with_its_weights_in_hugging_face_layout(make_trainer, tmp_path):
    """`--checkpoint.last_save_in_hf`: the last save is GPT-2's names and Conv1D layout, head stored once."""
    from safetensors.torch import load_file

    trainer = make_trainer(
        "debug_model.toml",
        {
            "training.steps": 2,
            "validation.enable": False,
            "checkpoint.enable": True,
            "checkpoint.last_save_model_only": True,
            "checkpoint.last_save_in_hf": True,
        },
        dump_folder=tmp_path / "run",
    )
    trainer.train()
    (model,) = trainer.model_parts
    expected = NanoGPTStateDictAdapter(model.model_args, hf_assets_path=None).to_hf(model.state_dict())
    (saved_file,) = (tmp_path / "run" / "checkpoint" / "step-2").glob("*.safetensors")
    saved = load_file(saved_file)
    assert saved.keys() == expected.keys() and "lm_head.weight" not in saved
    assert all(torch.equal(saved[name], tensor) for name, tensor in expected.items())
