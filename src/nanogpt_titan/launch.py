"""Starting training processes. torchtitan reads a process's place in the job from torchrun's
environment: a command without a launcher is made the one process of a job of one, so that
`python -m torchtitan.train ...` runs as it is on every host; a job of several processes is
torchrun's (`Launch`)."""

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass

from nanogpt_titan.errors import NanoGPTTitanError

TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE")
# torchrun's options that a job passes on as they are, in either of torchrun's spellings.
TORCHRUN_OPTIONS = ("node-rank", "rdzv-endpoint", "rdzv-backend", "rdzv-id", "master-addr", "master-port")


def one_process_environment() -> dict[str, str]:
    """torchrun's variables for the one process of a job of one, on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {
        "RANK": "0",
        "LOCAL_RANK": "0",
        "WORLD_SIZE": "1",
        "LOCAL_WORLD_SIZE": "1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }


def as_one_process_unless_launched() -> None:
    if not any(variable in os.environ for variable in TORCHRUN_VARIABLES):  # else a launcher placed it
        os.environ.update(one_process_environment())


@dataclass(frozen=True)
class Launch:
    """Where a job's processes run, in torchrun's terms: `options` are its own (`--node-rank=1`,
    `--rdzv-endpoint=host:29500`, ...); one node's job is `--standalone` without them."""

    nproc_per_node: int = 1
    nnodes: int = 1
    options: tuple[str, ...] = ()

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, count: Callable[[str], int]) -> None:
        """torchrun's options on a command line, in either of its spellings; `count` reads a count."""
        parser.add_argument("--nproc-per-node", "--nproc_per_node", type=count, default=1, help="processes per node")
        parser.add_argument("--nnodes", type=count, default=1, help="nodes")
        parser.add_argument("--standalone", action="store_true", help="one node's job (the default without rendezvous)")
        for option in TORCHRUN_OPTIONS:
            parser.add_argument(f"--{option}", f"--{option.replace('-', '_')}", help="torchrun's, across nodes")

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> "Launch":
        """The job that `add_arguments`' options, parsed into `args`, describe."""
        given = {option: getattr(args, option.replace("-", "_")) for option in TORCHRUN_OPTIONS}
        options = tuple(f"--{option}={value}" for option, value in given.items() if value is not None)
        return cls(args.nproc_per_node, args.nnodes, options)

    @property
    def processes(self) -> int:
        return self.nproc_per_node * self.nnodes

    def torchrun_arguments(self) -> list[str]:
        standalone = ["--standalone"] if self.nnodes == 1 and not self.options else []
        return [*standalone, f"--nproc_per_node={self.nproc_per_node}", f"--nnodes={self.nnodes}", *self.options]

    def command(self, module: str, arguments: list[str]) -> list[str]:
        """The job as a command that runs as printed, from any directory."""
        return ["torchrun", *self.torchrun_arguments(), "-m", module, *arguments]

    def run(self, module: str, arguments: list[str], environment: dict[str, str]) -> None:
        """Run the job with `environment` added: one process replaces this one; several are
        torchrun's, which this process runs, showing the output of each node's first rank. A
        rank that fails says why in one line of its own; the first rank of this node is shown,
        another's is said here (`NanoGPTTitanError`). An interruption reaches every rank, which
        says where it stopped."""
        os.environ.update(environment)
        if self.processes == 1:
            os.execv(sys.executable, [sys.executable, "-m", module, *arguments])
        from torch.distributed.elastic.multiprocessing.api import SignalException
        from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
        from torch.distributed.run import get_args_parser, run

        logging.getLogger("torch.distributed.elastic").setLevel(logging.ERROR)  # the ranks say what matters
        try:
            run(
                get_args_parser().parse_args(
                    [*self.torchrun_arguments(), "--local-ranks-filter=0", "-m", module, *arguments]
                )
            )
        except SignalException:
            raise KeyboardInterrupt from None
        except ChildFailedError as failed:
            unseen = [
                f"rank {rank}: {_reason(failure)}"
                for rank, failure in sorted(failed.failures.items())
                if failure.local_rank != 0
            ]
            if unseen:
                raise NanoGPTTitanError("; ".join(unseen)) from None
            raise SystemExit(1) from None  # the first rank said why


def _reason(failure) -> str:
    """A failed rank's own one-line reason, from its error file; else its exit code."""
    message = str(failure.message or "").strip().splitlines()
    return message[0].removeprefix("NanoGPTTitanError: ") if message else f"exit code {failure.exitcode}"
