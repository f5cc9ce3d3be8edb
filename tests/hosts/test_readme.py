"""The README's commands, run as a user runs them, in its order, on the installed torchtitan.

Every command of its `bash` blocks and of the lab's table runs in a folder of its own holding the
checkout's `run_train.sh` and `src/`, with a tenth of tiny Shakespeare as `input.txt` (and as the
download every recipe reads). What cannot run here is named in NOT_RUN with the reason. A
training run takes the README's settings and then RUN_CAPS, so that it ends in seconds (the GPU
recipe's batch of 64 windows of 256 included).

The README's commands are torchtitan 0.2.2's, the lab's: they run on that host. Their forms on
0.3.0 and main are docs/hosts.md's, which tests/hosts runs on those hosts (`run_train.sh` in
test_data_parallel, `nanogpt-titan` in test_nanogpt_commands and test_trainer). The nanoGPT table's commands need a nanoGPT checkout and GPT-2's sizes: they run,
smaller, in tests/hosts/test_nanogpt_commands.py.
"""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from nanogpt_titan.flags import flags

pytestmark = [pytest.mark.slow, pytest.mark.hosts("v0_2")]
# The first word of a command the README shows, when it cannot run here: why.
NOT_RUN = {
    "pip": "installs: CI builds the environment the same way",
    "git": "clones from GitHub: CI installs that commit's wheel",
    "hf": "downloads from the Hub: a folder of the same layout stands in (`shakespeare_hf`)",
    "pytest": "is this suite",
}
RUN_CAPS = {
    "training.steps": 4,
    "validation.freq": 2,
    "validation.steps": 1,
    "checkpoint.interval": 2,
    "training.local_batch_size": 2,
    "training.global_batch_size": -1,  # no gradient accumulation: the local batch on each rank
    "validation.local_batch_size": 2,
}
LAB_COMMAND = re.compile(r"`((?:CONFIG_FILE=|NGPU=|\./run_train\.sh|nanogpt-titan )[^`]*)`")


def readme_commands(readme: str) -> list[str]:
    """The commands of the README's bash blocks (continuation lines joined, comments and `&&`
    split off) and of the lab's table, in the README's order."""
    commands = []
    for block, table_row in re.findall(r"```bash\n(.*?)```|^(\| \d+\. [^\n]*)$", readme, re.S | re.M):
        if table_row:
            commands += LAB_COMMAND.findall(table_row)
            continue
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands += [part.strip() for part in line.split("&&")]
    return commands


def with_caps(overrides: list[str]) -> list[str]:
    """`./run_train.sh`'s overrides (`--section.key value`, a boolean as a bare flag), RUN_CAPS over them."""
    settings = {}
    for word, after in zip(overrides, [*overrides[1:], None]):
        if word.startswith("--"):
            settings[word[2:]] = True if after is None or after.startswith("--") else after
    return flags({**settings, **RUN_CAPS})


@pytest.fixture
def workspace(tmp_path, repo_root, nanogpt_hub_folder, monkeypatch):
    (tmp_path / "run_train.sh").symlink_to(repo_root / "run_train.sh")
    (tmp_path / "src").symlink_to(repo_root / "src")
    text = Path(os.environ["NANOGPT_TITAN_DATA"]).read_text(encoding="utf-8")
    # A tenth of the text, then every character of it: the vocabulary is tiny Shakespeare's 65.
    (tmp_path / "input.txt").write_text(text[: len(text) // 10] + "".join(sorted(set(text))), encoding="utf-8")
    monkeypatch.setenv("NANOGPT_TITAN_DATA", str(tmp_path / "input.txt"))
    hub_folder, _ = nanogpt_hub_folder()
    (tmp_path / "shakespeare_hf").symlink_to(hub_folder)
    return tmp_path


def run(command: str, cwd) -> subprocess.CompletedProcess:
    words = shlex.split(command)
    variables = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        variables[name] = value
    if words[0] == "./run_train.sh":
        words = [words[0], *with_caps(words[1:])]
    environment = {**os.environ, **variables, "WANDB_MODE": "offline"}
    if variables.get("NGPU", "1") != "1":
        environment["OMP_NUM_THREADS"] = "1"  # two processes on the machine's cores
    return subprocess.run(words, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)


def test_the_readme_shows_commands_of_each_kind(repo_root):
    commands = readme_commands((repo_root / "README.md").read_text(encoding="utf-8"))
    first_words = {shlex.split(command)[0] for command in commands}
    assert {"./run_train.sh", "nanogpt-titan", "pip", "pytest"} <= first_words
    assert sum(command.startswith(("CONFIG_FILE=", "NGPU=")) for command in commands) >= 3


def test_every_command_of_the_readme_runs(repo_root, workspace):
    """In the README's order (the sample reads the run the first command trains); the first
    command run again says that its run is complete and leaves it as it was."""
    commands = readme_commands((repo_root / "README.md").read_text(encoding="utf-8"))
    ran = []
    for command in commands:
        if shlex.split(command)[0] in NOT_RUN:
            continue
        done = run(command, workspace)
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        ran.append(command)
    assert "./run_train.sh" in ran and any(command.startswith("nanogpt-titan sample") for command in ran)
    metrics = (workspace / "outputs" / "shakespeare_cpu" / "metrics.jsonl").read_text()
    again = run("./run_train.sh", workspace)
    assert again.returncode == 0 and "is complete (step 4 of training.steps=4)" in again.stdout + again.stderr
    assert (workspace / "outputs" / "shakespeare_cpu" / "metrics.jsonl").read_text() == metrics
