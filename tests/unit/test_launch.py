"""Starting training processes: a command without a launcher is the one process of a job of one."""

import os

from nanogpt_titan.launch import as_one_process_unless_launched


def test_a_command_without_a_launcher_is_a_job_of_one_process(monkeypatch):
    for variable in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(variable, raising=False)
    as_one_process_unless_launched()
    assert [os.environ[v] for v in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR")] == ["0", "0", "1", "127.0.0.1"]
    assert int(os.environ["MASTER_PORT"]) > 0


def test_a_launched_process_keeps_its_place(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.delenv("MASTER_PORT", raising=False)
    as_one_process_unless_launched()
    assert os.environ["RANK"] == "3" and "MASTER_PORT" not in os.environ
