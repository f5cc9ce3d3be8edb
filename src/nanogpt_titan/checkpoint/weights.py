"""Weights as nanoGPT's model takes them: a `Checkpoint` (model args, state dict, what was read),
made from any format's tensors by mapping their names, reading the model args off their shapes
where the source does not record them, and checking every key and shape."""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from nanogpt_titan.checkpoint.mapping import StateDict, from_hf_gpt2, from_nanogpt
from nanogpt_titan.data.vocabulary import Vocabulary
from nanogpt_titan.errors import CheckpointError
from nanogpt_titan.model import NanoGPT, NanoGPTModelArgs

LISTED_KEYS = 8


@dataclass
class Checkpoint:
    args: NanoGPTModelArgs
    state_dict: StateDict  # our names, both tied names, float32
    source: str  # what was read, for messages
    notes: list[str] = field(default_factory=list)  # caveats the user should see
    vocabulary: Vocabulary | None = None  # when recorded
    step: int = 0  # the updates the weights have had: a run's step, a ckpt.pt's iter_num; 0 unrecorded
    dataset: str | None = None  # a ckpt.pt's config["dataset"] (nanoGPT's sample.py finds data/<dataset>/meta.pkl)

    def as_configured(self, block_size: int, dropout: float) -> "Checkpoint":
        """The model nanoGPT's train.py makes of pretrained weights: its configured dropout (the
        one override it allows), and the position embedding cropped to a shorter block_size
        (nanoGPT's `crop_block_size`); a longer one is refused."""
        if block_size > self.args.block_size:
            raise CheckpointError(
                f"block_size={block_size} exceeds the {self.args.block_size} positions of {self.source}; set "
                f"block_size <= {self.args.block_size}"
            )
        args = dataclasses.replace(self.args, block_size=block_size, dropout=dropout)
        state_dict = {**self.state_dict, "wpe.weight": self.state_dict["wpe.weight"][:block_size]}
        return dataclasses.replace(self, args=args, state_dict=state_dict)

    def data_folder(self, data: str | None):
        """The data folder `data` names (a nanoGPT data folder, or a text prepared into one;
        None: tiny Shakespeare), refused if its vocabulary is not this model's."""
        from nanogpt_titan.data.text import data_folder

        folder = data_folder(data, "--data")
        folder.vocabulary.check_model(
            self.args.vocab_size, self.vocabulary, self.source, "pass --data with the data the model was trained on"
        )
        return folder

    def build_model(self, device: str | torch.device = "cpu") -> NanoGPT:
        """The model with these weights, in eval mode."""
        with torch.device("meta"):
            model = NanoGPT(self.args)
        model.load_state_dict(self.state_dict, assign=True)
        model.lm_head.weight = model.wte.weight
        return model.to(device).eval()


def bare_state_dict_mapping(tensors: StateDict) -> Callable[[StateDict], StateDict]:
    """A bare state dict says nothing of its layout but its shapes: GPT-2's Conv1D `c_attn` is
    `(C, 3C)`, nanoGPT's Linear one `(3C, C)`, never square."""
    c_attn = next((t for name, t in tensors.items() if name.endswith("attn.c_attn.weight")), None)
    hf_conv1d_layout = c_attn is not None and c_attn.dim() == 2 and c_attn.shape[1] == 3 * c_attn.shape[0]
    return from_hf_gpt2 if hf_conv1d_layout else from_nanogpt


def fitted_checkpoint(
    tensors: StateDict, to_ours: Callable[[StateDict], StateDict], known: dict, source: str
) -> Checkpoint:
    """Map the names, infer what `known` does not give, and check every key and shape."""
    ours = {name: tensor.float().contiguous() for name, tensor in to_ours(tensors).items()}
    args = _model_args(_shape_args(ours, source) | {k: v for k, v in known.items() if v is not None}, source)
    _check_matches_model(ours, args, source)
    if not torch.equal(ours["lm_head.weight"], ours["wte.weight"]):
        raise CheckpointError(
            f"{source} has an lm_head.weight that differs from wte.weight; nanoGPT ties the two, "
            "so this is another architecture"
        )
    ours["lm_head.weight"] = ours["wte.weight"]
    return Checkpoint(args, ours, source)


def _shape_args(ours: StateDict, source: str) -> dict:
    """Every model arg but the head count, read off the tensors' shapes."""
    if "wte.weight" not in ours or "wpe.weight" not in ours:
        raise CheckpointError(
            f"{source} has no token/position embeddings (wte/wpe): not a nanoGPT or GPT-2 model; "
            f"its first keys are {sorted(ours)[:LISTED_KEYS]}"
        )
    vocab_size, n_embd = ours["wte.weight"].shape
    return dict(
        n_layer=len({name.split(".")[1] for name in ours if name.startswith("layers.")}),
        n_embd=n_embd,
        block_size=len(ours["wpe.weight"]),
        vocab_size=vocab_size,
        bias="ln_f.bias" in ours,
        dropout=0.0,
    )


def _model_args(fields: dict, source: str) -> NanoGPTModelArgs:
    if "n_head" not in fields:
        raise CheckpointError(
            f"{source} does not record its head count and shapes cannot tell it; pass --n-head "
            "(nanoGPT's n_head: the number of attention heads the model was trained with)"
        )
    return NanoGPTModelArgs.from_fields(fields, source)


def _check_matches_model(ours: StateDict, args: NanoGPTModelArgs, source: str) -> None:
    with torch.device("meta"):
        expected = {name: tensor.shape for name, tensor in NanoGPT(args).state_dict().items()}
    missing = sorted(expected.keys() - ours.keys())
    unexpected = sorted(ours.keys() - expected.keys())
    misshaped = sorted(
        f"{name} {tuple(ours[name].shape)} (expected {tuple(shape)})"
        for name, shape in expected.items()
        if name in ours and ours[name].shape != shape
    )
    problems = [
        f"{label} {keys[:LISTED_KEYS]}{' and more' if len(keys) > LISTED_KEYS else ''}"
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("mis-shaped keys", misshaped))
        if keys
    ]
    if problems:
        raise CheckpointError(f"{source} does not fit nanoGPT with {args}: " + "; ".join(problems))
