"""Writing outputs safely: never over an existing path, never half-written."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nanogpt_titan.errors import NanoGPTTitanError


def refuse_existing(*destinations: Path) -> None:
    for destination in destinations:
        if destination.exists():
            raise NanoGPTTitanError(f"{destination} already exists; choose a new path or remove it first")


@contextmanager
def written_atomically(destination: Path, is_dir: bool = False) -> Iterator[Path]:
    """Yield a path beside `destination` to write into; rename it into place on success.

    An error or an interrupt removes what was written. Modes follow the umask, as for any
    file the user creates.
    """
    refuse_existing(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    if is_dir:
        partial.mkdir()
    try:
        yield partial
        os.replace(partial, destination)
    except BaseException:
        if partial.is_dir():
            shutil.rmtree(partial)
        else:
            partial.unlink(missing_ok=True)
        raise
