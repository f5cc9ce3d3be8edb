"""The `nanogpt` TrainSpec and its flavors: the registry, as torchtitan's `models/llama3/__init__.py`.

Defining them changes nothing; registering them with torchtitan is `nanogpt_titan.hosts.v0_2.registration`'s job.
"""

from torchtitan.protocols.train_spec import TrainSpec

from nanogpt_titan.flavor_args import NanoGPTFlavors
from nanogpt_titan.hosts.state_dict_adapter import NanoGPTStateDictAdapter
from nanogpt_titan.hosts.v0_2.dataloader import build_nanogpt_dataloader
from nanogpt_titan.hosts.v0_2.loss import build_nanogpt_loss_fn
from nanogpt_titan.hosts.v0_2.lr_scheduler import build_nanogpt_lr_schedulers
from nanogpt_titan.hosts.v0_2.metrics import build_nanogpt_metrics_processor
from nanogpt_titan.hosts.v0_2.model_args import NanoGPTTrainArgs, NanoGPTTrainModel
from nanogpt_titan.hosts.v0_2.optimizer import build_nanogpt_optimizers
from nanogpt_titan.hosts.v0_2.parallelize import parallelize_nanogpt
from nanogpt_titan.hosts.v0_2.tokenizer import build_nanogpt_tokenizer
from nanogpt_titan.hosts.v0_2.validate import build_nanogpt_validator

__all__ = ["get_train_spec", "nanogpt_args"]

nanogpt_args = NanoGPTFlavors(args_class=NanoGPTTrainArgs)


def get_train_spec() -> TrainSpec:
    return TrainSpec(
        model_cls=NanoGPTTrainModel,
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
