"""Diff coverage's git side on real repositories: bases, merge bases, renames, untracked files."""

from __future__ import annotations

from pathlib import Path

import pytest
from git_repo import git

from testgate.errors import GitError
from testgate.read.diff import changed_lines, resolve_base, source_lines


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "a.py").write_text("a = 1\nb = 2\nc = 3\n", encoding="utf-8")
    (root / "moved.py").write_text("".join(f"x{n} = {n}\n" for n in range(20)), encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def test_not_a_git_checkout(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="is not a git checkout with a commit"):
        resolve_base(tmp_path, None)


def test_no_base_candidate(repo: Path) -> None:
    with pytest.raises(GitError, match=r"no base to diff against \(tried origin/HEAD"):
        resolve_base(repo, None)


def test_configured_base_missing(repo: Path) -> None:
    with pytest.raises(GitError, match="diff base 'release' is not a commit here"):
        resolve_base(repo, "release")


def test_unrelated_history(repo: Path) -> None:
    git(repo, "checkout", "-q", "--orphan", "other")
    git(repo, "commit", "-q", "-m", "unrelated")
    with pytest.raises(GitError, match="trunk and HEAD share no history"):
        resolve_base(repo, "trunk")


def test_main_is_found_and_the_merge_base_is_used(repo: Path) -> None:
    git(repo, "branch", "main")
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "a.py").write_text("a = 1\nb = 20\nc = 3\nd = 4\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "change")
    git(repo, "checkout", "-q", "main")
    (repo / "z.py").write_text("z = 1\n", encoding="utf-8")
    git(repo, "add", "z.py")
    git(repo, "commit", "-q", "-m", "main moves on")
    git(repo, "checkout", "-q", "feature")
    # working tree: one more change, a deletion, a rename, an untracked file
    (repo / "a.py").write_text("a = 10\nb = 20\nc = 3\nd = 4\n", encoding="utf-8")
    git(repo, "mv", "moved.py", "renamed.py")
    (repo / "new.py").write_text("n = 1\nm = 2\n", encoding="utf-8")
    diff = changed_lines(repo, None)
    assert (diff.base, diff.commit) == ("main", base)
    assert diff.lines == {"a.py": {1, 2, 4}, "new.py": {1, 2}}  # z.py is main's, not ours
    assert changed_lines(repo, "main", only={"a.py"}).lines == {"a.py": {1, 2, 4}}


def test_subfolder_root_sees_paths_relative_to_it(repo: Path) -> None:
    git(repo, "branch", "main")
    sub = repo / "pkg"
    sub.mkdir()
    (sub / "m.py").write_text("x = 1\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sub")
    (repo / "a.py").write_text("changed\n", encoding="utf-8")
    assert changed_lines(sub, None).lines == {"m.py": {1}}


def test_source_lines_with_project_exclusions(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.coverage.report]\nexclude_also = ["if DEBUG:"]\n', encoding="utf-8"
    )
    (tmp_path / "m.py").write_text(
        "DEBUG = False\nif DEBUG:\n    print(1)\n\n\ndef f(x):\n    if x:\n        return 1\n"
        "    return 2\n",
        encoding="utf-8",
    )
    (tmp_path / "broken.py").write_text("def (:\n", encoding="utf-8")
    parsed = source_lines(tmp_path, ["m.py", "broken.py", "missing.py"])
    assert set(parsed) == {"m.py"}
    lines, exits = parsed["m.py"]
    assert lines == {1, 6, 7, 8, 9}
    assert exits == {7: 2}


def test_without_git_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GitError, match="git cannot run"):
        resolve_base(tmp_path, None)


def test_unreadable_untracked_file_is_skipped(repo: Path) -> None:
    git(repo, "branch", "main")
    (repo / "dangling.py").symlink_to(repo / "nowhere.py")
    diff = changed_lines(repo, None, only={"dangling.py"})
    assert diff.lines == {}


def test_source_lines_without_any_coverage_config(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1  # pragma: no cover\ny = 2\n", encoding="utf-8")
    assert source_lines(tmp_path, ["m.py"]) == {"m.py": (frozenset({2}), {})}
