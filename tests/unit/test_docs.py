"""What the README and docs say, against what the package does."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_FACING = [
    REPO_ROOT / "README.md",
    *sorted((REPO_ROOT / "docs").glob("*.md")),
    *sorted((REPO_ROOT / "scripts").glob("*.sh")),
    REPO_ROOT / "run_train.sh",
]
# Words about how the project was made, not about what a user does or what was measured.
ABOUT_ITS_MAKING = ["sessions that", "was lent", "borrowed", "device tool", "/work/", ".library", "KINDS.md"]


@pytest.mark.parametrize("path", USER_FACING, ids=lambda path: path.name)
def test_the_project_speaks_of_itself_only(path):
    text = path.read_text(encoding="utf-8")
    assert [phrase for phrase in ABOUT_ITS_MAKING if phrase in text] == []


def test_the_readme_says_where_the_suites_text_comes_from_and_when_it_is_downloaded():
    readme = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "never the network" not in readme
    assert "into which it is downloaded once (sha256-checked) when neither is there and the machine is online" in readme
