"""torchtitan 0.3's Trainer with the nanogpt model's components. Its Config hands them what
they derive from the run's own settings, so that each setting is given once: the seed
(`debug.seed`) and the global batch (`training`) to the dataloader, whose window streams
depend on them; the data folder to the tokenizer and the validator; the model, data and
checkpoint settings to the metrics processor, for the run's records and summary; what the run
will load (`RunFolder`) to the dataloader, which checks it, and the metrics processor. The model is
`flavor`'s (torchtitan 0.3 keeps its model tree off the command line; `--flavor` names it)."""

from dataclasses import dataclass, field
from typing import Literal

from torchtitan.components.loss import BaseLoss
from torchtitan.config import ParallelismConfig
from torchtitan.trainer import Trainer

from nanogpt_titan.data.datasets import DEFAULT_SEED
from nanogpt_titan.hosts.run_folder import RunFolder
from nanogpt_titan.hosts.v0_3.data import SECTION, NanoGPTDataLoader, NanoGPTTokenizer
from nanogpt_titan.hosts.v0_3.loss import NanoGPTLoss
from nanogpt_titan.hosts.v0_3.metrics import NanoGPTMetricsProcessor
from nanogpt_titan.hosts.v0_3.model import model_spec
from nanogpt_titan.hosts.v0_3.optimizer import NanoGPTLRSchedulers, NanoGPTOptimizers
from nanogpt_titan.hosts.v0_3.parallelize import SPMD_BACKEND
from nanogpt_titan.hosts.v0_3.validate import NanoGPTValidator


class NanoGPTTrainer(Trainer):
    @dataclass(kw_only=True, slots=True)
    class Config(Trainer.Config):
        tokenizer: NanoGPTTokenizer.Config = field(default_factory=NanoGPTTokenizer.Config)
        dataloader: NanoGPTDataLoader.Config = field(default_factory=NanoGPTDataLoader.Config)
        optimizer: NanoGPTOptimizers.Config = field(default_factory=NanoGPTOptimizers.Config)
        lr_scheduler: NanoGPTLRSchedulers.Config = field(default_factory=NanoGPTLRSchedulers.Config)
        metrics: NanoGPTMetricsProcessor.Config = field(default_factory=NanoGPTMetricsProcessor.Config)
        validator: NanoGPTValidator.Config = field(default_factory=NanoGPTValidator.Config)
        loss: BaseLoss.Config = field(default_factory=NanoGPTLoss.Config)
        parallelism: ParallelismConfig = field(default_factory=lambda: ParallelismConfig(spmd_backend=SPMD_BACKEND))
        randomness: Literal["rank_invariant", "nanogpt"] = "rank_invariant"
        """How the run draws its random numbers: numbered window streams per micro-batch, so that N ranks
        train as one process accumulating their micro-batches; or nanoGPT's own draws from
        `torch.manual_seed(debug.seed + rank)`, its initial weights and its batches in train.py's order."""
        flavor: str = "debugmodel"
        """The model: a flavor's name, a checkpoint's folder (`nanogpt-titan convert` writes one; a Hugging
        Face GPT-2 folder), or the args themselves (n_layer=6,n_head=6,n_embd=384,block_size=256,dropout=0.2,bias=False)."""

        def __post_init__(self):
            if self.model_spec is None or self.model_spec.flavor != self.flavor:
                self.model_spec = model_spec(self.flavor)  # 0.3's model tree is no setting; the flavor is
            Trainer.Config.__post_init__(self)
            self.dataloader.seed = DEFAULT_SEED if self.debug.seed is None else self.debug.seed
            self.dataloader.global_batch_size = self.training.global_batch_size
            self.dataloader.randomness = self.randomness
            self.tokenizer.data = self.validator.data = self.metrics.data = self.dataloader
            self.validator.training_steps = self.training.steps
            self.dataloader.run_folder = self.metrics.run_folder = RunFolder(
                self.dump_folder, self.checkpoint, self.hf_assets_path, self.training.steps, self.dataloader.dataset_path,
                dump_folder_setting="dump_folder", dataset_path_setting=f"{SECTION}.dataset_path",
            )
            self.metrics.model_args = self.model_spec.model.args if self.model_spec is not None else None
