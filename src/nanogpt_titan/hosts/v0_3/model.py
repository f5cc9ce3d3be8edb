"""The model as torchtitan 0.3 builds it: the core `NanoGPT`, made from a `Config` that the
trainer completes from the run's settings (the data's vocabulary, the context lengths)."""

from dataclasses import dataclass

from torch import nn
from torchtitan.protocols import BaseModel
from torchtitan.protocols.model_spec import ModelSpec

from nanogpt_titan.hosts.state_dict_adapter import NanoGPTStateDictAdapter
from nanogpt_titan.hosts.v0_3.parallelize import parallelize_nanogpt
from nanogpt_titan.model import NanoGPT, NanoGPTModelArgs
from nanogpt_titan.model.flavors import FLAVORS, RENAMED, NanoGPTFlavors


class NanoGPTModel(NanoGPT, BaseModel):
    @dataclass(kw_only=True, slots=True)
    class Config(BaseModel.Config):
        args: NanoGPTModelArgs
        flavor: str

        def update_from_config(self, *, config, **kwargs) -> None:
            """Take the vocabulary from the run's data; refuse contexts the model cannot hold."""
            contexts = {"training.seq_len": config.training.seq_len}
            if config.validator.enable and config.validator.context:
                contexts["validator.context"] = config.validator.context
            self.args.complete(config.dataloader.data().vocabulary, contexts, self.flavor,
                               config.dataloader.seed if config.randomness == "nanogpt" else None)

        def get_nparams_and_flops(self, model: nn.Module, seq_len: int) -> tuple[int, int]:
            return self.args.get_nparams_and_flops(model, seq_len)

    def __init__(self, config: Config):
        super().__init__(config.args)

    def verify_module_protocol(self) -> None:
        """Nothing to verify: the model's modules are torch's own, initialised by `init_weights`
        (as on torchtitan 0.2), not torchtitan's configurable modules."""


def model_spec(flavor: str) -> ModelSpec:
    """The nanogpt model of `flavor`: a registered name, a checkpoint's folder, or the args
    (`nanogpt_titan.model.flavors`)."""
    args = NanoGPTFlavors(FLAVORS, renamed=RENAMED)[flavor]
    return ModelSpec(name="nanogpt", flavor=flavor, model=NanoGPTModel.Config(args=args, flavor=flavor),
                     parallelize_fn=parallelize_nanogpt, pipelining_fn=None, post_optimizer_build_fn=None,
                     state_dict_adapter=NanoGPTStateDictAdapter)
