"""`nanogpt-titan sample`: nanoGPT's sample.py command line, and from the same seed sample.py's text."""

import pytest
import torch

SAMPLE_PY = [
    "--device=cpu",
    "--seed=1337",
    "--num_samples=2",
    "--max_new_tokens=120",
    "--start=ROMEO:",
    "--dtype=float32",
]


@pytest.fixture
def out_dir(tmp_path, monkeypatch, nanogpt_fixtures):
    """nanoGPT's checkout and an out_dir as its train.py leaves one: generate.pt's model in a
    ckpt.pt whose config names shakespeare_char, whose meta.pkl is in data/ (sample.py's lookup)."""
    golden = torch.load(nanogpt_fixtures / "generate.pt", weights_only=True)
    args = {key: golden["config"][key] for key in ("n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size")}
    (tmp_path / "out").mkdir()
    torch.save(
        {
            "model": golden["state_dict"],
            "model_args": {**args, "dropout": 0.0},
            "iter_num": 7,
            "best_val_loss": torch.tensor(3.0),
            "config": {"dataset": "shakespeare_char"},
        },
        tmp_path / "out" / "ckpt.pt",
    )
    (tmp_path / "data" / "shakespeare_char").mkdir(parents=True)
    (tmp_path / "data" / "shakespeare_char" / "meta.pkl").write_bytes(
        (nanogpt_fixtures / "shakespeare_char_meta.pkl").read_bytes()
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path / "out"


def test_sample_pys_command_line_writes_sample_pys_text(out_dir, cli, capsys, nanogpt_fixtures):
    assert cli("sample", f"--out_dir={out_dir}", *SAMPLE_PY) == 0
    out, err = capsys.readouterr()
    assert out == (nanogpt_fixtures / "sample_generate_ckpt.txt").read_text()
    assert "Loading meta from data/shakespeare_char/meta.pkl..." in err


def test_the_packages_command_line_samples_the_same_from_the_checkpoint(out_dir, cli, capsys, nanogpt_fixtures):
    """sample.py's draws whatever the command line: the seed, then the construction's, then the tokens."""
    from nanogpt_titan.data.vocabulary import read_meta

    vocabulary = read_meta(out_dir.parent / "data" / "shakespeare_char" / "meta.pkl")
    text = out_dir.parent / "shakespeare.txt"
    text.write_text("".join(vocabulary.chars))  # a text of exactly the vocabulary's characters
    assert (
        cli(
            "sample",
            out_dir / "ckpt.pt",
            "--data",
            text,
            "--seed",
            1337,
            "--num-samples",
            2,
            "--max-new-tokens",
            120,
            "--start",
            "ROMEO:",
        )
        == 0
    )
    assert capsys.readouterr().out == (nanogpt_fixtures / "sample_generate_ckpt.txt").read_text()


def test_the_start_is_read_from_a_file_as_sample_py_reads_it(out_dir, cli, capsys):
    (out_dir / "prompt.txt").write_text("JULIET:\n")
    assert (
        cli(
            "sample",
            f"--out_dir={out_dir}",
            "--device=cpu",
            "--num_samples=1",
            "--max_new_tokens=5",
            f"--start=FILE:{out_dir / 'prompt.txt'}",
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("JULIET:\n")


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "--device=cuda: this machine has no CUDA device; pass --device=cpu"),
        (["--device=cpu", "--init_from=scratch"], "init_from='scratch': sample.py samples 'resume'"),
        (
            ["--device=cpu", "--num_sample=2"],
            "--num_sample=2: sample.py has no setting 'num_sample'; did you mean 'num_samples'?",
        ),
    ],
)
def test_sample_pys_refusals_are_one_line(out_dir, cli, capsys, arguments, message):
    if torch.cuda.is_available() and not arguments:
        pytest.skip("sample.py's default device exists here")
    assert cli("sample", f"--out_dir={out_dir}", *arguments) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"nanogpt-titan sample: error: {message}")


def test_openais_gpt2_samples_from_the_hugging_face_cache(nanogpt_dir, cli, capsys, monkeypatch):
    """--init_from=gpt2: the stand-in's weights, GPT-2's BPE (tiktoken's files are a download: a
    stand-in encoding here)."""
    from nanogpt_titan.data import vocabulary

    class Encoding:
        encode = staticmethod(lambda text, allowed_special=(): [int(word) for word in text.split()])
        decode = staticmethod(lambda ids: " ".join(map(str, ids)))

    monkeypatch.setattr(vocabulary, "gpt2_encoding", Encoding)
    assert (
        cli("sample", "--init_from=gpt2", "--device=cpu", "--num_samples=1", "--max_new_tokens=4", "--start=50256 11")
        == 0
    )
    sample = capsys.readouterr().out.splitlines()[0].split()
    assert sample[:2] == ["50256", "11"] and len(sample) == 6 and all(0 <= int(i) < 50257 for i in sample)
