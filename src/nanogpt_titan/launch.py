"""Starting training processes. torchtitan reads a process's place in the job from torchrun's
environment: a command without a launcher is made the one process of a job of one, so that
`python -m torchtitan.train ...` runs as it is on every host."""

import os
import socket

TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE")


def one_process_environment() -> dict[str, str]:
    """torchrun's variables for the one process of a job of one, on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}


def as_one_process_unless_launched() -> None:
    if not any(variable in os.environ for variable in TORCHRUN_VARIABLES):  # else a launcher placed it
        os.environ.update(one_process_environment())
