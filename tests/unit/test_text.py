"""Texts as data (`nanogpt_titan.data.text`): where tiny Shakespeare comes from, and a text
prepared once into the cache."""

import hashlib
import os
import re
from pathlib import Path

import pytest
import requests

from nanogpt_titan.data import text as text_module
from nanogpt_titan.data.text import data_folder, prepared_text, resolve_text_path
from nanogpt_titan.errors import NanoGPTTitanError


def test_the_cache_is_nanogpt_titan_cache_else_under_xdg_cache_home_else_home(monkeypatch, tmp_path):
    monkeypatch.setenv("NANOGPT_TITAN_CACHE", str(tmp_path / "own"))
    assert text_module.shakespeare_cache_path() == tmp_path / "own" / "tinyshakespeare" / "input.txt"
    monkeypatch.delenv("NANOGPT_TITAN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert text_module.cache_root() == tmp_path / "xdg" / "nanogpt_titan"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert text_module.cache_root() == tmp_path / "home" / ".cache" / "nanogpt_titan"


@pytest.fixture
def no_local_text(monkeypatch, tmp_path):
    """No env var, an empty cache under tmp_path: the only source left is the network."""
    monkeypatch.delenv(text_module.DATA_ENV_VAR, raising=False)
    monkeypatch.setenv(text_module.CACHE_ENV_VAR, str(tmp_path / "cache"))
    return text_module.shakespeare_cache_path()


class FakeResponse:
    def __init__(self, content: bytes):
        self.content = content

    def raise_for_status(self):
        pass


def test_explicit_path_wins_over_env_var(tmp_path, monkeypatch):
    explicit, from_env = tmp_path / "a.txt", tmp_path / "b.txt"
    explicit.write_text("ab")
    from_env.write_text("cd")
    monkeypatch.setenv(text_module.DATA_ENV_VAR, str(from_env))
    assert resolve_text_path(str(explicit)) == explicit
    assert resolve_text_path(None) == from_env


def test_missing_explicit_path_names_the_setting(tmp_path):
    with pytest.raises(NanoGPTTitanError, match=r"^--training.dataset_path points at .*nope.txt, which is not a file$"):
        resolve_text_path(str(tmp_path / "nope.txt"))
    with pytest.raises(NanoGPTTitanError, match="^--data points at"):
        data_folder(str(tmp_path / "nope.txt"), "--data")


@pytest.mark.parametrize("setting", ["--training.dataset_path", "--data"])
def test_offline_error_names_the_setting_that_points_at_a_copy_and_leaves_nothing(no_local_text, monkeypatch, setting):
    def offline(*args, **kwargs):
        assert kwargs.get("timeout"), "downloads must time out"
        raise requests.ConnectionError("no network")

    monkeypatch.setattr(text_module.requests, "get", offline)
    hint = f"Offline? Point NANOGPT_TITAN_DATA=/path/to/input.txt or pass {setting} /path/to/input.txt at a local copy."
    with pytest.raises(
        NanoGPTTitanError,
        match=f"^could not download {text_module.SHAKESPEARE_URL} \\(ConnectionError\\). {re.escape(hint)}$",
    ):
        resolve_text_path(None, setting)
    assert not no_local_text.parent.exists() or not any(no_local_text.parent.iterdir())


def test_corrupt_download_is_not_written(no_local_text, monkeypatch):
    monkeypatch.setattr(text_module.requests, "get", lambda *a, **k: FakeResponse(b"not shakespeare"))
    with pytest.raises(NanoGPTTitanError, match="sha256"):
        resolve_text_path(None)
    assert not any(no_local_text.parent.iterdir())


def test_download_is_cached_and_read_once(no_local_text, monkeypatch, shakespeare_text):
    content = shakespeare_text.encode()
    assert hashlib.sha256(content).hexdigest() == text_module.SHAKESPEARE_SHA256
    calls = []
    monkeypatch.setattr(text_module.requests, "get", lambda url, **k: calls.append(url) or FakeResponse(content))
    replaced, rename = [], os.replace
    monkeypatch.setattr(
        text_module.os, "replace", lambda src, dst: replaced.append(Path(src).parent) or rename(src, dst)
    )
    no_local_text.parent.mkdir(parents=True)  # the cache folder may exist already
    assert resolve_text_path(None) == no_local_text
    assert resolve_text_path(None) == no_local_text
    assert calls == [text_module.SHAKESPEARE_URL]
    assert replaced == [no_local_text.parent]  # written beside the destination, then renamed
    assert no_local_text.read_bytes() == content
    assert [p.name for p in no_local_text.parent.iterdir()] == ["input.txt"]


def test_a_text_is_prepared_once_and_again_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.setenv(text_module.CACHE_ENV_VAR, str(tmp_path / "cache"))
    text = tmp_path / "text.txt"
    text.write_text("to be or not to be\n" * 10)
    first = prepared_text(text)
    assert first.path.parent == tmp_path / "cache" / "prepared" and first.vocabulary.chars == tuple(
        sorted(set("to be rn\n"))
    )
    prepare, calls = text_module.prepare, []
    monkeypatch.setattr(text_module, "prepare", lambda *args: calls.append(args) or prepare(*args))
    assert prepared_text(text).path == first.path and calls == []  # the cached folder, as it is
    text.write_text("something else entirely\n" * 10)
    os.utime(text, ns=(1, 1))
    assert prepared_text(text).path != first.path and len(calls) == 1


def test_a_text_another_process_prepared_first_is_used(tmp_path, monkeypatch):
    """Ranks start together: the one whose folder is renamed into place second uses the first's."""
    monkeypatch.setenv(text_module.CACHE_ENV_VAR, str(tmp_path / "cache"))
    text = tmp_path / "text.txt"
    text.write_text("abc\n" * 10)
    prepare = text_module.prepare

    def beaten_to_it(inputs, out, tokenizer):
        prepare(inputs, out, tokenizer)  # the other process
        prepare(inputs, out, tokenizer)  # this one: the folder exists by now

    monkeypatch.setattr(text_module, "prepare", beaten_to_it)
    assert prepared_text(text).vocabulary.chars == ("\n", "a", "b", "c")


@pytest.mark.parametrize("content, fact", [(b"", "empty"), (b"caf\xe9\n", "is not UTF-8 text")])
def test_an_empty_or_non_utf8_text_is_named(tmp_path, content, fact):
    path = tmp_path / "text.txt"
    path.write_bytes(content)
    with pytest.raises(NanoGPTTitanError, match=re.escape(str(path)) + f".*{fact}"):
        data_folder(str(path))
