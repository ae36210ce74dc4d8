"""The commit and branch a recorded run carries, read from a real git repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from git_repo import git

from testgate.history.record import Provenance, provenance


def test_git_names_commit_and_branch_outside_ci(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "x")
    head = git(tmp_path, "rev-parse", "HEAD").strip()
    assert provenance(tmp_path, {}) == Provenance(head, "trunk", None)
    (tmp_path / "sub").mkdir()
    assert provenance(tmp_path / "sub", {}) == Provenance(head, "trunk", None)
    git(tmp_path, "checkout", "-q", "--detach")
    assert provenance(tmp_path, {}) == Provenance(head, None, None)
    # a CI variable names the branch where a detached checkout cannot
    assert provenance(tmp_path, {"CI_COMMIT_REF_NAME": "main"}).branch == "main"


def test_git_dir_is_followed_where_no_dot_git_is_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "x")
    head = git(repo, "rev-parse", "HEAD").strip()
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    assert provenance(elsewhere, {}).commit == head
    monkeypatch.delenv("GIT_DIR")
    assert provenance(elsewhere, {}) == Provenance(None, None, None)
