"""`python -m torchtitan.train` without torchrun: torchtitan 0.3 reads its process's place in
the job from torchrun's environment, so a plain command becomes the one process of a job of
one, as on torchtitan 0.2."""

import os
import socket

TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE")


def as_one_process_unless_launched() -> None:
    if any(variable in os.environ for variable in TORCHRUN_VARIABLES):
        return  # torchrun (or another launcher) placed this process
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
