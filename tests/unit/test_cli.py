"""`nanogpt-titan`: help and argument errors come back without loading torch or torchtitan."""

import subprocess
import sys


def test_the_cli_module_loads_neither_torch_nor_torchtitan():
    code = "import sys, nanogpt_titan.cli; print(sorted({'torch', 'torchtitan'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_an_argument_error_is_one_usage_line_and_exit_2():
    result = subprocess.run(["nanogpt-titan", "sample"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "nanogpt-titan sample: error: the following arguments are required: src"
