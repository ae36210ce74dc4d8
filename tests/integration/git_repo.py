"""Real git for the tests: a throwaway identity, no signing, one default branch name."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = (
    *("-c", "user.name=t", "-c", "user.email=t@example.com"),
    *("-c", "commit.gpgsign=false", "-c", "init.defaultBranch=trunk"),
)


def git(root: Path, *argv: str) -> str:
    """git's output; a failing git fails the test with what git said."""
    done = subprocess.run(
        ["git", *IDENTITY, *argv], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
