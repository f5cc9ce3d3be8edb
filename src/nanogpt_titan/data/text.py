"""Text files as data: tiny Shakespeare found (or downloaded once), and any text prepared once
into a nanoGPT data folder in the cache, which is then memory-mapped as every folder is.

The text is looked up in this order: an explicit path (`--training.dataset_path`, `--data`),
the `NANOGPT_TITAN_DATA` environment variable, the cache, and only then a download that is
checked (sha256) and written atomically into the cache. The cache is `$NANOGPT_TITAN_CACHE`,
else `$XDG_CACHE_HOME/nanogpt_titan`, else `~/.cache/nanogpt_titan`.
"""

import hashlib
import os
import tempfile
from pathlib import Path

import requests

from nanogpt_titan.data.folder import DataFolder
from nanogpt_titan.data.prepare import prepare
from nanogpt_titan.errors import NanoGPTTitanError
from nanogpt_titan.progress import to_stderr

SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
DATA_ENV_VAR = "NANOGPT_TITAN_DATA"
CACHE_ENV_VAR = "NANOGPT_TITAN_CACHE"
DOWNLOAD_TIMEOUT_S = 30


def cache_root() -> Path:
    explicit = os.environ.get(CACHE_ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nanogpt_titan"


def shakespeare_cache_path() -> Path:
    return cache_root() / "tinyshakespeare" / "input.txt"


def _download(url: str, destination: Path, setting: str) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    to_stderr(f"Downloading tiny Shakespeare from {url} to {destination}")
    offline_hint = (
        f"Offline? Point {DATA_ENV_VAR}=/path/to/input.txt or pass {setting} /path/to/input.txt at a local copy."
    )
    try:
        response = requests.get(url, timeout=DOWNLOAD_TIMEOUT_S)
        response.raise_for_status()
    except requests.RequestException as error:
        raise NanoGPTTitanError(f"could not download {url} ({type(error).__name__}). {offline_hint}") from None
    digest = hashlib.sha256(response.content).hexdigest()
    if digest != SHAKESPEARE_SHA256:
        raise NanoGPTTitanError(
            f"Downloaded {url} has sha256 {digest}, expected {SHAKESPEARE_SHA256}; nothing was written. {offline_hint}"
        )
    # Write beside the destination, then rename: an interrupted run leaves no partial file.
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as partial:
        partial.write(response.content)
    os.replace(partial.name, destination)


def resolve_text_path(explicit_path: str | None = None, setting: str = "--training.dataset_path") -> Path:
    """Where the text is: an explicit path (given by `setting`, for messages), then
    $NANOGPT_TITAN_DATA, then the cache (downloading)."""
    for source, candidate in ((setting, explicit_path), (DATA_ENV_VAR, os.environ.get(DATA_ENV_VAR))):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise NanoGPTTitanError(f"{source} points at {path}, which is not a file")
            return path
    cached = shakespeare_cache_path()
    if not cached.is_file():
        _download(SHAKESPEARE_URL, cached, setting)
    return cached


def prepared_text(text: Path) -> DataFolder:
    """The character data folder of `text`, prepared into the cache on first use (keyed by the
    file's path, size and modification time; by several processes at once, one wins)."""
    stat = text.resolve().stat()
    version = hashlib.sha256(f"{text.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    folder = cache_root() / "prepared" / f"{text.stem}-{version}"
    if not folder.is_dir():
        try:
            prepare([text], folder, "char")
        except (NanoGPTTitanError, OSError):
            if not folder.is_dir():  # not the folder another process renamed into place first
                raise
    return DataFolder(folder)


def data_folder(path: str | None = None, setting: str = "--training.dataset_path") -> DataFolder:
    """The data `path` names: a nanoGPT data folder as it is, or a text file (tiny Shakespeare
    when none is named) prepared into the cache."""
    if path is not None and Path(path).expanduser().is_dir():
        return DataFolder(Path(path).expanduser())
    return prepared_text(resolve_text_path(path, setting))
