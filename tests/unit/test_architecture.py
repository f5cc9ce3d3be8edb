"""The layout's promises, checked in fresh interpreters: what each layer may import."""

import subprocess
import sys

DATA_LAYER = ["nanogpt_titan.data.folder", "nanogpt_titan.data.layout", "nanogpt_titan.data.prepare",
              "nanogpt_titan.data.text", "nanogpt_titan.data.vocabulary", "nanogpt_titan.data.windows"]


def imported_after(*modules: str) -> set[str]:
    code = f"import sys; import {', '.join(modules)}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_the_data_layer_imports_neither_torchtitan_nor_the_checkpoint_layer():
    forbidden = {name for name in imported_after(*DATA_LAYER)
                 if name.split(".")[0] == "torchtitan" or name.startswith(("nanogpt_titan.checkpoint", "nanogpt_titan.model"))}
    assert forbidden == set()


def test_preparing_data_does_not_import_torch():
    """`nanogpt-titan prepare` starts in a fraction of a second: numpy only."""
    assert "torch" not in imported_after("nanogpt_titan.data.prepare")
