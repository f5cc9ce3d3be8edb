"""`nanogpt-titan sample`: nanoGPT's `sample.py`, its random draws included.

`sample.py` seeds the global generators with `seed`, constructs the model (whose initialisation
draws, though the checkpoint's weights replace them), then draws every token from them; so
from the same seed the text depends on the model's shape as well as its weights, and here it is
`sample.py`'s text. Two command lines lead here: `sample.py`'s own (`--out_dir=...`,
`--init_from=gpt2`, ...: `sample_py`), and the package's (`sample RUN`, with `--num-samples`,
...), whose model is any checkpoint `read_checkpoint` reads.
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nanogpt_titan.checkpoint import Checkpoint
from nanogpt_titan.data.vocabulary import GPT2Vocabulary, Vocabulary, read_meta
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model.args import NanoGPTModelArgs
from nanogpt_titan.nanogpt.arguments import SAMPLE_PY_DEFAULTS, read_config, with_dtype
from nanogpt_titan.nanogpt.init_from import OPENAI_MODELS, pretrained, resumed

SEPARATOR = "---------------"


@dataclass(frozen=True)
class Sampling:
    """What `sample.py` draws: its settings, named as there."""

    start: str = "\n"  # or FILE:path, the prompt read from a file
    num_samples: int = 10
    max_new_tokens: int = 500
    temperature: float = 0.8
    top_k: int | None = 200
    seed: int = 1337
    device: str = "cuda"
    dtype: str = "float32"
    compile: bool = False
    device_flag: str = "--device="  # how the command spells the device, for its message


def sample(checkpoint: Checkpoint, constructed: NanoGPTModelArgs, vocabulary: Vocabulary, sampling: Sampling) -> None:
    """Print `sampling.num_samples` samples of `checkpoint`'s model, each followed by sample.py's
    separator line, drawn as sample.py draws them after constructing a model of `constructed`."""
    import torch

    from nanogpt_titan.device import torch_device
    from nanogpt_titan.generate import generate
    from nanogpt_titan.nanogpt_draws import seed_as_sample_py
    from nanogpt_titan.progress import Meter

    device = torch_device(sampling.device, sampling.device_flag)
    start = sampling.start
    if start.startswith("FILE:"):
        start = Path(start[5:]).read_text(encoding="utf-8")
    if not start:
        raise NanoGPTTitanError(
            "the start is empty; give at least one character of context (nanoGPT's default is a newline)"
        )
    context = torch.tensor([vocabulary.encode(start)], device=device)
    seed_as_sample_py(constructed, sampling.seed)
    model = checkpoint.build_model(device)
    if sampling.compile:
        model = torch.compile(model)
    dtype = getattr(torch, sampling.dtype)
    autocast = torch.autocast(device.type, dtype=dtype, enabled=device.type == "cuda" and dtype != torch.float32)
    with autocast:
        for number in range(1, sampling.num_samples + 1):
            tokens = Meter(sampling.max_new_tokens, f"sample {number}/{sampling.num_samples}", "tokens")
            ids = generate(
                model, context, sampling.max_new_tokens, sampling.temperature, sampling.top_k, on_token=tokens.advance
            )
            print(vocabulary.decode(ids[0].tolist()), flush=True)
            print(SEPARATOR, flush=True)


def sample_checkpoint(read: Callable[[], Checkpoint], data: str | None, sampling: Sampling) -> None:
    """`nanogpt-titan sample SRC`: the checkpoint `read` gives (read once the device is known to
    be good), with the vocabulary it records, else that of the data folder `data` names."""
    from nanogpt_titan.device import torch_device

    torch_device(sampling.device, sampling.device_flag)
    checkpoint = read()
    use_recorded = data is None and checkpoint.vocabulary is not None  # sampling needs no data
    vocabulary = checkpoint.vocabulary if use_recorded else checkpoint.data_folder(data).vocabulary
    sample(checkpoint, checkpoint.args, vocabulary, sampling)


def _vocabulary(checkpoint: Checkpoint) -> Vocabulary:
    """sample.py's: `data/<dataset>/meta.pkl` of the checkpoint's config, where it exists; else
    the vocabulary the checkpoint records; else GPT-2's BPE."""
    meta = Path("data") / checkpoint.dataset / "meta.pkl" if checkpoint.dataset else None
    if meta is not None and meta.is_file():
        print(f"Loading meta from {meta}...", file=sys.stderr)
        return read_meta(meta)
    if checkpoint.vocabulary is not None:
        return checkpoint.vocabulary
    print("No meta.pkl found, assuming GPT-2 encodings...", file=sys.stderr)
    return GPT2Vocabulary()


def sample_py(arguments: list[str]) -> None:
    """`python sample.py ARGUMENTS` in nanoGPT's checkout, here: config files and `--key=value`
    over sample.py's defaults."""
    from nanogpt_titan.device import torch_device

    config = read_config(arguments, with_dtype(SAMPLE_PY_DEFAULTS), "sample.py")
    torch_device(config["device"], "--device=")  # before the read: a bad device fails fast
    init_from = config["init_from"]
    if init_from == "resume":
        checkpoint = resumed(config["out_dir"])
        constructed, vocabulary = checkpoint.args, _vocabulary(checkpoint)
    elif init_from in OPENAI_MODELS:
        checkpoint, constructed = pretrained(init_from, None, 0.0)
        vocabulary = GPT2Vocabulary()
    else:
        raise NanoGPTTitanError(
            f"init_from={init_from!r}: sample.py samples 'resume' (the run in out_dir) or one of "
            f"{', '.join(map(repr, OPENAI_MODELS))}"
        )
    settings = {key: config[key] for key in Sampling.__dataclass_fields__ if key in config}
    sample(checkpoint, constructed, vocabulary, Sampling(**settings))
