"""Validation loss outside the Trainer: nanoGPT's estimate and the exact value (`nanogpt-titan evaluate`)."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.evaluate import mean_loss, random_batches, window_batches


@given(n_tokens=st.integers(2, 300), block_size=st.integers(1, 40), batch_size=st.integers(1, 9))
def test_windows_tile_the_split_without_overlap(token_file, n_tokens, block_size, batch_size):
    tokens = token_file(range(n_tokens))
    if n_tokens - 1 < block_size:
        with pytest.raises(NanoGPTTitanError, match=f"--block-size={block_size}"):
            window_batches(tokens, block_size, batch_size)
        return
    windows = window_batches(tokens, block_size, batch_size)
    batches = list(windows)
    assert len(batches) == len(windows)
    inputs = torch.cat([x for x, _ in batches])
    targets = torch.cat([y for _, y in batches])
    assert all(len(x) <= batch_size for x, _ in batches) and len(inputs) == windows.n_windows
    assert torch.equal(inputs.flatten(), torch.arange(inputs.numel()))  # contiguous, from the first token
    assert torch.equal(targets, inputs + 1)  # each target is the next token
    assert n_tokens - 1 - inputs.numel() < block_size  # no further whole window fits


@pytest.mark.parametrize("data", ["default", "text", "folder"])
def test_evaluate_prints_the_estimate_and_the_exact_loss(nanogpt_ckpt, shakespeare, capsys, cli, data):
    """On tiny Shakespeare, named as the default, as its text, or as its data folder."""
    from nanogpt_titan.data.text import resolve_text_path

    path, model = nanogpt_ckpt
    named = {"default": [], "text": ["--data", resolve_text_path()], "folder": ["--data", shakespeare.path]}[data]
    assert cli("evaluate", path, "--eval-iters", 3, "--batch-size", 4, "--block-size", 16, *named) == 0
    estimate_line, exact_line = capsys.readouterr().out.splitlines()
    val = shakespeare.split("val")
    with torch.no_grad():
        estimate = torch.stack(
            [F.cross_entropy(model(x).flatten(0, 1), y.flatten()) for x, y in random_batches(val, 16, 4, 3, seed=1337)]
        ).mean()
        usable = (len(val) - 1) // 16 * 16
        ids = val.read(0, usable + 1)
        exact = F.cross_entropy(model(ids[:-1].view(-1, 16)).flatten(0, 1), ids[1:])
    assert estimate_line == f"val loss {estimate:.4f}"
    assert exact_line == f"exact val loss {exact:.4f} ({usable // 16} windows of 16 tokens)"


def test_mean_loss_weighs_every_token_equally(random_model, tiny_args):
    model = random_model(tiny_args)
    tokens = torch.randint(0, 11, (5, 9))
    uneven = [(tokens[:4, :-1], tokens[:4, 1:]), (tokens[4:, :-1], tokens[4:, 1:])]
    with torch.no_grad():
        expected = F.cross_entropy(model(tokens[:, :-1]).flatten(0, 1), tokens[:, 1:].flatten())
    assert mean_loss(model, uneven) == pytest.approx(expected.item(), abs=1e-6)
