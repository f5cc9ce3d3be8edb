"""A training process on any host, prepared once by the host's entry point when torchtitan
imports it, before torchtitan reads where the process stands in its job:

- on a machine without CUDA, torchtitan adapted to the CPU (`adapt_to_cpu`);
- a command without a launcher made the one process of a job of one (`nanogpt_titan.launch`);
- the process's manners (`nanogpt_titan.process_messages`): a user error, an interruption, a rank left
  waiting, each said in one line.
"""

from collections.abc import Callable

import torch

from nanogpt_titan.hosts.cpu_adaptation import adapt_torchtitan_to_cpu
from nanogpt_titan.launch import as_one_process_unless_launched
from nanogpt_titan.process_messages import mind_the_process


def prepare_training_process(adapt_to_cpu: Callable[[], None] = adapt_torchtitan_to_cpu) -> None:
    if not torch.cuda.is_available():
        adapt_to_cpu()
    as_one_process_unless_launched()
    mind_the_process()
