"""The `nanogpt` TrainSpec and its flavors: the registry, as torchtitan's `models/llama3/__init__.py`.

Defining them changes nothing; registering them with torchtitan is `nanogpt_titan.plugin`'s job.
"""

from torchtitan.protocols.train_spec import TrainSpec

from nanogpt_titan.dataloader import build_nanogpt_dataloader
from nanogpt_titan.infra.parallelize import parallelize_nanogpt
from nanogpt_titan.loss import build_nanogpt_loss_fn
from nanogpt_titan.lr_scheduler import build_nanogpt_lr_schedulers
from nanogpt_titan.metrics import build_nanogpt_metrics_processor
from nanogpt_titan.model import NanoGPT, NanoGPTModelArgs
from nanogpt_titan.model.args import NanoGPTFlavors
from nanogpt_titan.model.state_dict_adapter import NanoGPTStateDictAdapter
from nanogpt_titan.optimizer import build_nanogpt_optimizers
from nanogpt_titan.tokenizer import build_nanogpt_tokenizer
from nanogpt_titan.validate import build_nanogpt_validator

__all__ = ["get_train_spec", "nanogpt_args"]

nanogpt_args = NanoGPTFlavors({
    "debugmodel": NanoGPTModelArgs(n_layer=2, n_head=2, n_embd=64, block_size=64),
    # nanoGPT README's CPU recipe of the shakespeare-char config (called "baby" until 0.1).
    "shakespeare-cpu": NanoGPTModelArgs(n_layer=4, n_head=4, n_embd=128, block_size=64, bias=False),
    # config/train_shakespeare_char.py, the model nanoGPT's README calls "a baby GPT"
    "mini-gpt": NanoGPTModelArgs(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2, bias=False),
    "gpt2": NanoGPTModelArgs(n_layer=12, n_head=12, n_embd=768),
    "gpt2-medium": NanoGPTModelArgs(n_layer=24, n_head=16, n_embd=1024),
    "gpt2-large": NanoGPTModelArgs(n_layer=36, n_head=20, n_embd=1280),
    "gpt2-xl": NanoGPTModelArgs(n_layer=48, n_head=25, n_embd=1600),
}, renamed={"baby": "shakespeare-cpu"})


def get_train_spec() -> TrainSpec:
    return TrainSpec(
        model_cls=NanoGPT,
        model_args=nanogpt_args,
        parallelize_fn=parallelize_nanogpt,
        pipelining_fn=None,
        build_optimizers_fn=build_nanogpt_optimizers,
        build_lr_schedulers_fn=build_nanogpt_lr_schedulers,
        build_dataloader_fn=build_nanogpt_dataloader,
        build_tokenizer_fn=build_nanogpt_tokenizer,
        build_loss_fn=build_nanogpt_loss_fn,
        build_validator_fn=build_nanogpt_validator,
        build_metrics_processor_fn=build_nanogpt_metrics_processor,
        state_dict_adapter=NanoGPTStateDictAdapter,
    )
