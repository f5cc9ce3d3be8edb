"""Launched by test_data_parallel.py under torchrun: FSDP-initialised weights, and dropout masks.

Each rank builds the model as torchtitan's Trainer does (meta device, `parallelize_nanogpt`
with FSDP over all ranks, `to_empty`, `init_weights` after torchtitan's seeding, which leaves
the generator where the rank's dropout starts), then its training dataloader starts iterating
and it draws one dropout mask. Rank 0 saves the full
initial weights and every rank's mask to the file named by the one argument.
"""

import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torchtitan.config import ConfigManager
from torchtitan.distributed import ParallelDims
from torchtitan.distributed.utils import set_determinism

import nanogpt_titan.plugin  # noqa: F401  (CPU adaptations, as custom_import does)
from nanogpt_titan.hosts.v0_2.dataloader import build_nanogpt_dataloader
from nanogpt_titan.hosts.v0_2.model_args import NanoGPTTrainModel
from nanogpt_titan.hosts.v0_2.parallelize import parallelize_nanogpt
from nanogpt_titan.hosts.v0_2.tokenizer import build_nanogpt_tokenizer
from nanogpt_titan.hosts.v0_2.train_spec import nanogpt_args

dist.init_process_group("gloo")
world_size, rank = dist.get_world_size(), dist.get_rank()
job_config = ConfigManager().parse_args(
    [
        "--job.config_file",
        sys.argv[2],
        "--parallelism.data_parallel_shard_degree",
        str(world_size),
        "--training.global_batch_size",
        str(8 * world_size),
        "--checkpoint.no-enable",
    ]
)
parallel_dims = ParallelDims(dp_replicate=1, dp_shard=world_size, cp=1, tp=1, pp=1, ep=1, etp=1, world_size=world_size)
set_determinism(parallel_dims, torch.device("cpu"), job_config.debug, distinct_seed_mesh_dims=["pp"])
tokenizer = build_nanogpt_tokenizer(job_config)
args = nanogpt_args.get("debugmodel")
args.update_from_config(job_config)
with torch.device("meta"):
    model = NanoGPTTrainModel(args)
model = parallelize_nanogpt(model, parallel_dims, job_config)
model.to_empty(device="cpu")
with torch.no_grad():
    model.init_weights()
weights = {name: tensor.full_tensor() for name, tensor in model.state_dict().items()}
next(iter(build_nanogpt_dataloader(world_size, rank, tokenizer, job_config)))
masks = [torch.empty(256) for _ in range(world_size)]
dist.all_gather(masks, F.dropout(torch.ones(256), p=0.5))
if rank == 0:
    torch.save({"weights": weights, "masks": masks}, sys.argv[1])
dist.destroy_process_group()
