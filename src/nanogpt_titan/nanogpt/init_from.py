"""The model a nanoGPT script starts from (its `init_from`), and the model its constructor draws
the initial weights of, whose draws come before any other from the seeded generator:

| init_from                          | the weights                                   | the constructor's model |
|------------------------------------|-----------------------------------------------|-------------------------|
| 'scratch'                          | nanoGPT's init                                 | the config's            |
| 'resume'                           | the run in out_dir (a torchtitan run, or nanoGPT's ckpt.pt) | the checkpoint's |
| 'gpt2', ..., 'gpt2-xl', or a folder | OpenAI's from the Hugging Face cache (or a Hugging Face folder), with the configured dropout and block_size (cropped) | the pretrained model's, uncropped |
"""

from pathlib import Path

from nanogpt_titan.checkpoint import Checkpoint, read_checkpoint
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.model.args import NanoGPTModelArgs

OPENAI_MODELS = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")


def openai_weights(name: str) -> Path:
    """The Hugging Face cache's snapshot of OpenAI's `name`, as `transformers` downloads it."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    for repo in (name, f"openai-community/{name}"):
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except LocalEntryNotFoundError:
            continue
    raise NanoGPTTitanError(
        f"init_from={name!r}: OpenAI's weights are not in the Hugging Face cache ({constants.HF_HUB_CACHE}); "
        f"download them once: hf download openai-community/{name} config.json model.safetensors"
    )


def pretrained(init_from: str, block_size: int | None, dropout: float) -> tuple[Checkpoint, NanoGPTModelArgs]:
    """The model nanoGPT makes of pretrained weights (`block_size` None: uncropped), and the model
    its constructor drew for."""
    source = openai_weights(init_from) if init_from in OPENAI_MODELS else Path(init_from)
    if init_from not in OPENAI_MODELS and not source.is_dir():
        raise NanoGPTTitanError(
            f"init_from={init_from!r} is none of 'scratch', 'resume', {', '.join(map(repr, OPENAI_MODELS))}, nor a "
            "folder of weights (a Hugging Face folder, a converted checkpoint)"
        )
    checkpoint = read_checkpoint(source)
    constructed = checkpoint.args
    return checkpoint.as_configured(block_size or constructed.block_size, dropout), constructed


def resumed(out_dir: str) -> Checkpoint:
    """The run in `out_dir`: a torchtitan run's latest checkpoint, or nanoGPT's `ckpt.pt`."""
    if not Path(out_dir).is_dir():
        raise NanoGPTTitanError(f"init_from='resume': out_dir={out_dir!r} is not a folder; name the run's --out_dir")
    return read_checkpoint(out_dir)
