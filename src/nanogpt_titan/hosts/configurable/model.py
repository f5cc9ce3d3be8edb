"""The model as torchtitan's Configurable releases build it: the core `NanoGPT`, made from a
`Config` that the trainer completes from the run's settings (the data's vocabulary, the context
lengths) and hands the run's randomness, which draws the initial weights."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import tyro
from torch import nn
from torchtitan.protocols import BaseModel
from torchtitan.protocols.model_spec import ModelSpec

from nanogpt_titan.flavor_args import NanoGPTFlavors
from nanogpt_titan.hosts.state_dict_adapter import NanoGPTStateDictAdapter
from nanogpt_titan.model import NanoGPT, NanoGPTModelArgs
from nanogpt_titan.run import NanoGPTRun


class NanoGPTModel(NanoGPT, BaseModel):
    @dataclass(kw_only=True, slots=True)
    class Config(BaseModel.Config):
        args: NanoGPTModelArgs
        flavor: str
        run: Annotated[NanoGPTRun | None, tyro.conf.Suppress] = None  # handed over by the trainer

        def update_from_config(self, *, config, **kwargs) -> None:
            """Take the vocabulary from the run's data; refuse contexts the model cannot hold, and a
            model that is not the one the run loads."""
            plan = config.dataloader.data
            self.args.complete(plan.folder().vocabulary, config.contexts(), self.flavor)
            plan.check_run(self.args)

        def get_nparams_and_flops(self, model: nn.Module, seq_len: int) -> tuple[int, int]:
            return self.args.get_nparams_and_flops(model, seq_len)

    def __init__(self, config: Config):
        super().__init__(config.args, config.run.randomness.model_initialiser())

    def verify_module_protocol(self) -> None:
        """Nothing to verify: the model's modules are torch's own, initialised by `init_weights`
        (as on torchtitan 0.2), not torchtitan's configurable modules."""


def model_spec(flavor: str, parallelize_fn: Callable) -> ModelSpec:
    """The nanogpt model of `flavor`: a registered name, a checkpoint's folder, or the args
    (`nanogpt_titan.flavor_args`)."""
    args = NanoGPTFlavors()[flavor]
    return ModelSpec(
        name="nanogpt",
        flavor=flavor,
        model=NanoGPTModel.Config(args=args, flavor=flavor),
        parallelize_fn=parallelize_fn,
        pipelining_fn=None,
        post_optimizer_build_fn=None,
        state_dict_adapter=NanoGPTStateDictAdapter,
    )
