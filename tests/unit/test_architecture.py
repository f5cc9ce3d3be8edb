"""The layout's promises, checked in fresh interpreters: what each layer may import."""

import subprocess
import sys
from pathlib import Path

import nanogpt_titan

PACKAGE = Path(nanogpt_titan.__file__).parent
# Each host's entry point, named as that host expects; they and `hosts` alone may import torchtitan.
ENTRY_POINTS = {"nanogpt_titan.plugin", "nanogpt_titan.config_registry"}


def core_modules() -> list[str]:
    """Every module of the package outside `hosts` and the hosts' entry points."""
    names = [
        ".".join(("nanogpt_titan", *path.relative_to(PACKAGE).with_suffix("").parts))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "hosts"
    ]
    return [name.removesuffix(".__init__") for name in names if name.removesuffix(".__init__") not in ENTRY_POINTS]


def imported_after(*modules: str) -> set[str]:
    code = f"import sys; import {', '.join(modules)}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_the_data_layer_imports_neither_torchtitan_nor_the_checkpoint_layer():
    data_layer = [name for name in core_modules() if name.startswith("nanogpt_titan.data.")]
    assert "nanogpt_titan.data.folder_format" in data_layer
    forbidden = {
        name
        for name in imported_after(*data_layer)
        if name.split(".")[0] == "torchtitan" or name.startswith(("nanogpt_titan.checkpoint", "nanogpt_titan.model"))
    }
    assert forbidden == set()


def test_preparing_data_does_not_import_torch():
    """`nanogpt-titan prepare` starts in a fraction of a second: numpy only."""
    assert "torch" not in imported_after("nanogpt_titan.data.prepare")


def test_the_core_imports_no_torchtitan_and_no_host():
    """The core is written once for every torchtitan: importing all of it loads none, and no
    adapter; it speaks to the installed one through `nanogpt_titan.hosts`' functions alone."""
    modules = core_modules()
    assert {"nanogpt_titan.model.model", "nanogpt_titan.optim", "nanogpt_titan.cli", "nanogpt_titan.parallel"} <= set(
        modules
    )
    forbidden = {
        name
        for name in imported_after(*modules)
        if name.split(".")[0] == "torchtitan" or name.startswith("nanogpt_titan.hosts.")
    }
    assert forbidden == set()
