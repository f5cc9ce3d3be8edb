"""nanoGPT's sampling (`nanogpt-titan sample`)."""

import pytest
import torch

from nanogpt_titan.generate import generate
from nanogpt_titan.model import NanoGPTModelArgs


def test_sample_is_reproducible_by_seed(nanogpt_ckpt, capsys, cli):
    path, _ = nanogpt_ckpt

    def sample(seed):
        assert cli("sample", path, "--num-samples", 2, "--max-new-tokens", 30, "--seed", seed, "--start", "ROMEO:") == 0
        return capsys.readouterr().out

    first = sample(1)
    assert first == sample(1) != sample(2)
    assert first.count("---------------") == 2 and first.startswith("ROMEO:")


def test_sample_reports_its_progress_on_stderr_and_prints_each_sample_when_done(nanogpt_ckpt, capsys, cli):
    path, _ = nanogpt_ckpt
    assert cli("sample", path, "--num-samples", 2, "--max-new-tokens", 20, "--start", "ROMEO:") == 0
    out, err = capsys.readouterr()
    reports = [line.split(" (")[0] for line in err.splitlines() if line.startswith("sample ")]
    assert reports == [f"sample {k}/2: {done}/20 tokens" for k in (1, 2) for done in range(2, 21, 2)]
    assert "s left" in err and out.count("---------------") == 2


def test_sample_reads_the_prompt_from_a_file(nanogpt_ckpt, tmp_path, capsys, cli):
    path, _ = nanogpt_ckpt
    (tmp_path / "prompt.txt").write_text("JULIET:\n")
    assert (
        cli("sample", path, "--num-samples", 1, "--max-new-tokens", 5, "--start", f"FILE:{tmp_path / 'prompt.txt'}")
        == 0
    )
    assert capsys.readouterr().out.startswith("JULIET:\n")


def test_top_1_sampling_is_greedy_over_a_cropped_context(random_model, tiny_args):
    model = random_model(tiny_args)
    ids = torch.randint(0, 11, (1, 20))  # longer than block_size: only the last 8 are seen
    out = generate(model, ids, max_new_tokens=6, temperature=0.5, top_k=1)
    expected = ids
    with torch.no_grad():
        for _ in range(6):
            expected = torch.cat((expected, model(expected[:, -8:])[:, -1].argmax(-1, keepdim=True)), dim=1)
    assert torch.equal(out, expected)


def test_sampling_follows_the_softmax_of_the_logits(random_model):
    """Top-k keeps the k likeliest tokens; their frequencies follow softmax(logits / T)."""
    model = random_model(NanoGPTModelArgs(n_layer=1, n_head=1, n_embd=8, block_size=4, vocab_size=5))
    ids = torch.zeros(4000, 1, dtype=torch.long)
    drawn = generate(model, ids, 1, temperature=2.0, top_k=3, generator=torch.Generator().manual_seed(0))[:, -1]
    with torch.no_grad():
        logits = model(ids[:1])[0, -1] / 2.0
    top3 = logits.topk(3).indices
    expected = torch.zeros(5).index_put_((top3,), torch.softmax(logits[top3], 0))
    assert set(drawn.tolist()) <= set(top3.tolist())
    torch.testing.assert_close(torch.bincount(drawn, minlength=5) / 4000, expected, atol=0.03, rtol=0)


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("temperature", 0.0, "temperature=0.0 must be a finite number > 0"),
        ("top_k", 0, "top_k=0 must be >= 1"),
        ("max_new_tokens", -1, "max_new_tokens=-1 must be >= 0"),
    ],
)
def test_bad_sampling_settings_are_refused(random_model, tiny_args, setting, value, message):
    model = random_model(tiny_args)
    settings = {"max_new_tokens": 1, "temperature": 1.0, "top_k": None, setting: value}
    with pytest.raises(ValueError, match=message):
        generate(model, torch.zeros(1, 1, dtype=torch.long), **settings)
