import math
from dataclasses import replace

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model import FLAVORS, NanoGPT, NanoGPTModelArgs

SMALL = NanoGPTModelArgs(n_layer=3, n_head=2, n_embd=32, block_size=16, vocab_size=65)


def test_logits_shape(build_model):
    model = build_model(SMALL)
    logits = model(torch.randint(0, 65, (4, 11)))
    assert logits.shape == (4, 11, 65)


@given(position=st.integers(0, 15), bias=st.booleans())
def test_causality_changing_token_t_changes_no_earlier_logit(position, bias):
    torch.manual_seed(0)
    model = NanoGPT(replace(SMALL, bias=bias))
    model.init_weights()
    model.eval()
    tokens = torch.randint(0, 65, (2, 16))
    changed = tokens.clone()
    changed[:, position] = (changed[:, position] + 1) % 65
    before, after = model(tokens), model(changed)
    assert torch.equal(before[:, :position], after[:, :position])
    assert not torch.allclose(before[:, position:], after[:, position:])


def test_head_is_tied_to_token_embedding_after_meta_init(build_model):
    model = build_model(SMALL)
    assert model.lm_head.weight is model.wte.weight
    with torch.no_grad():
        model.wte.weight[3, 5] = 42.0
    assert model.lm_head.weight[3, 5] == 42.0


def test_layer_names_match_torchtitan_and_nanogpt(build_model):
    names = set(build_model(replace(SMALL, n_layer=2)).state_dict())
    block = {
        "ln_1.weight",
        "ln_1.bias",
        "attn.c_attn.weight",
        "attn.c_attn.bias",
        "attn.c_proj.weight",
        "attn.c_proj.bias",
        "ln_2.weight",
        "ln_2.bias",
        "mlp.c_fc.weight",
        "mlp.c_fc.bias",
        "mlp.c_proj.weight",
        "mlp.c_proj.bias",
    }
    expected = {"wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias", "lm_head.weight"}
    expected |= {f"layers.{i}.{name}" for i in range(2) for name in block}
    assert names == expected


def test_no_bias_flavor_has_no_bias_tensors(build_model):
    names = build_model(replace(SMALL, bias=False)).state_dict()
    assert not [name for name in names if name.endswith("bias")]


def test_init_statistics_per_weight_family(build_model):
    torch.manual_seed(0)
    args = NanoGPTModelArgs(n_layer=4, n_head=4, n_embd=256, block_size=256, vocab_size=512)
    model = build_model(args)
    residual_std = 0.02 / math.sqrt(2 * args.n_layer)
    families = {
        "wte.weight": 0.02,
        "wpe.weight": 0.02,
        "c_attn.weight": 0.02,
        "c_fc.weight": 0.02,
        "c_proj.weight": residual_std,
    }
    for name, param in model.named_parameters():
        family = next((f for f in families if name.endswith(f)), None)
        if family is not None:
            assert param.mean().abs() < 3e-4, name
            assert param.std().item() == pytest.approx(families[family], rel=0.03), name
        elif name.endswith("bias"):
            assert torch.count_nonzero(param) == 0, name
        else:  # LayerNorm weights
            assert torch.equal(param, torch.ones_like(param)), name


@pytest.mark.parametrize("bias", [True, False])
def test_init_weights_reinitialises_every_parameter(build_model, bias):
    model = build_model(replace(SMALL, bias=bias))
    with torch.no_grad():
        for param in model.parameters():
            param.fill_(float("nan"))
        model.init_weights()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert model.lm_head.weight is model.wte.weight


def test_forward_refuses_sequences_longer_than_block(build_model):
    with pytest.raises(ValueError, match="longer than block_size=16"):
        build_model(SMALL)(torch.zeros(1, 17, dtype=torch.long))


def test_flavors_match_nanogpt():
    def shape(name):
        a = FLAVORS[name]
        return a.n_layer, a.n_head, a.n_embd, a.block_size, a.dropout, a.bias

    assert shape("shakespeare-cpu") == (4, 4, 128, 64, 0.0, False)
    assert shape("mini-gpt") == (6, 6, 384, 256, 0.2, False)
    assert shape("gpt2") == (12, 12, 768, 1024, 0.0, True)
    assert shape("gpt2-medium") == (24, 16, 1024, 1024, 0.0, True)
    assert shape("gpt2-large") == (36, 20, 1280, 1024, 0.0, True)
    assert shape("gpt2-xl") == (48, 25, 1600, 1024, 0.0, True)


def test_params_and_flops_by_nanogpts_formula(build_model):
    args = replace(FLAVORS["mini-gpt"], vocab_size=65)
    n_params, flops_per_token = args.get_nparams_and_flops(build_model(args), seq_len=256)
    n_non_embedding = 10_646_784  # nanoGPT's get_num_params() for this model
    assert n_params == 10_745_088
    assert flops_per_token == 6 * n_non_embedding + 12 * 6 * 6 * 64 * 256
    assert isinstance(flops_per_token, int)  # a count, not a float that happens to be whole


# --- NanoGPTModelArgs: the clear errors -----------------------------------------------------


def test_width_must_divide_into_heads():
    with pytest.raises(NanoGPTTitanError, match="n_embd=100 is not divisible by n_head=6"):
        NanoGPTModelArgs(n_embd=100, n_head=6)


@pytest.mark.parametrize("dropout", [-0.1, 1.0])
def test_dropout_must_be_a_probability_below_one(dropout):
    with pytest.raises(NanoGPTTitanError, match=rf"dropout={dropout} must be in \[0, 1\)"):
        NanoGPTModelArgs(dropout=dropout)


def test_gpt_config_is_nanogpts_fields_and_prints_as_such():
    args = NanoGPTModelArgs(n_layer=1, n_head=2, n_embd=8, block_size=4, vocab_size=5, dropout=0.1, bias=False)
    assert list(args.gpt_config()) == ["n_layer", "n_head", "n_embd", "block_size", "vocab_size", "dropout", "bias"]
    assert str(args) == "n_layer=1, n_head=2, n_embd=8, block_size=4, vocab_size=5, dropout=0.1, bias=False"


def test_model_args_json_round_trip_and_unknown_fields(tmp_path):
    args = NanoGPTModelArgs(n_layer=3, n_head=2, n_embd=16, block_size=8, vocab_size=65, dropout=0.1, bias=False)
    args.to_json(tmp_path / "args.json")
    assert NanoGPTModelArgs.from_json(tmp_path / "args.json") == args
    (tmp_path / "bad.json").write_text('{"n_layer": 2, "n_kv_heads": 1}')
    with pytest.raises(ValueError, match=r"bad\.json: unknown model args \['n_kv_heads'\]"):
        NanoGPTModelArgs.from_json(tmp_path / "bad.json")


def test_model_args_do_not_load_the_data_layer():
    """Building (or reading) model args never finds, downloads or reads the text."""
    import subprocess
    import sys

    code = (
        "import sys; from nanogpt_titan.model import NanoGPTModelArgs; NanoGPTModelArgs(); "
        "print(sorted(m for m in sys.modules if m.startswith(('nanogpt_titan.data', 'nanogpt_titan.hosts.v0_2.tokenizer'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr
