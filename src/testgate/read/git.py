"""The one way testgate runs git: its output, or a `GitError` saying what to do."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testgate.errors import GitError, GitMissing

TIMEOUT = 60.0  # seconds: a git that hangs (a lock, a network remote) must not hang the gate


def git(root: Path, *args: str) -> str:
    """stdout of `git ARGS` in `root`; GitMissing without git, GitError when it fails."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=TIMEOUT
        )
    except OSError as exc:
        raise GitMissing(f"git cannot run ({exc.strerror}); install git") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} did not answer in {TIMEOUT:g} s") from None
    if done.returncode != 0:
        raise GitError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return done.stdout


def git_or_none(root: Path, *args: str) -> str | None:
    """The stripped output, or None when git cannot tell (no git, no checkout, empty answer):
    for facts that are nice to have, such as the commit a run is recorded under."""
    try:
        out = git(root, *args).strip()
    except GitError:
        return None
    return out or None
