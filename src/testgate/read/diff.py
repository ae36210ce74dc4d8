"""What diff coverage reads: the lines changed against a git base (untracked files too), and
the executable lines and branch exits of those files as coverage.py parses them."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path

import coverage
from coverage.python import PythonFileReporter

from testgate._safeio import MAX_SOURCE_BYTES, open_input, read_bytes
from testgate.errors import GitError, GitMissing, InputError
from testgate.model.diff import Diff, Parsed
from testgate.read.git import git

BASE_CANDIDATES = ("origin/HEAD", "origin/main", "main", "master")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def resolve_base(root: Path, configured: str | None) -> tuple[str, str]:
    """(ref, merge-base commit) of HEAD and `configured` or the first of BASE_CANDIDATES."""
    try:
        git(root, "rev-parse", "--verify", "-q", "HEAD")
    except GitMissing:
        raise
    except GitError:
        raise GitError(
            f"{root} is not a git checkout with a commit; diff coverage needs git "
            "(or remove coverage.diff_fail_under)"
        ) from None
    candidates: tuple[str, ...] = (configured,) if configured else BASE_CANDIDATES
    for ref in candidates:
        try:
            git(root, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
        except GitError:
            continue
        try:
            return ref, git(root, "merge-base", ref, "HEAD").strip()
        except GitError:
            raise GitError(f"{ref} and HEAD share no history; set coverage.diff_base") from None
    if configured:
        raise GitError(
            f"diff base {configured!r} is not a commit here; fetch it "
            "from the remote or fix coverage.diff_base"
        )
    raise GitError(
        f"no base to diff against (tried {', '.join(BASE_CANDIDATES)}); "
        "set coverage.diff_base or fetch the main branch"
    )


def parse_unified(text: str) -> dict[str, set[int]]:
    """New-side line numbers of every hunk of a `git diff -U0` output."""
    lines: dict[str, set[int]] = {}
    current: set[int] | None = None
    for row in text.splitlines():
        if row.startswith("+++ "):
            target = row[4:]
            if target == "/dev/null":
                current = None
            else:
                current = lines.setdefault(target[2:] if target.startswith("b/") else target, set())
        elif row.startswith("@@") and current is not None:
            m = _HUNK.match(row)
            if m:
                start, count = int(m.group(1)), int(m.group(2) or "1")
                current.update(range(start, start + count))
    return lines


def changed_lines(
    root: Path, configured_base: str | None, only: Collection[str] | None = None
) -> Diff:
    """Lines changed from the merge base to the working tree, untracked files included
    (those in `only`, when given: no point reading an untracked build artefact)."""
    ref, commit = resolve_base(root, configured_base)
    text = git(
        root,
        "-c",
        "core.quotepath=off",
        "diff",
        "-U0",
        "-M",
        "--no-color",
        "--no-ext-diff",
        "--relative",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        commit,
    )
    lines = parse_unified(text)
    untracked = git(root, "-c", "core.quotepath=off", "ls-files", "--others", "--exclude-standard")
    for path in untracked.splitlines():
        if only is not None and path not in only:
            continue
        try:
            data = read_bytes(root / path, within=(root,), limit=MAX_SOURCE_BYTES)
        except InputError:
            continue
        count = len(data.splitlines())
        lines[path] = set(range(1, count + 1))
    return Diff(ref, commit, {p: frozenset(s) for p, s in lines.items() if s})


def _coverage_config(root: Path) -> coverage.Coverage:
    """The project's coverage settings (its exclusions change what counts as a statement)."""
    for name in (".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml"):
        if (root / name).is_file():
            return coverage.Coverage(config_file=str(root / name))
    return coverage.Coverage(config_file=False)


def source_lines(root: Path, paths: Iterable[str]) -> Parsed:
    """Per file: executable lines and exits per branching line, as coverage.py parses them."""
    cov = _coverage_config(root)
    out: dict[str, tuple[frozenset[int], dict[int, int]]] = {}
    for path in paths:
        try:
            open_input(root / path, within=(root,), limit=MAX_SOURCE_BYTES).close()
        except InputError:
            continue  # not a regular file of the project: never handed to the parser
        try:
            reporter = PythonFileReporter(str(root / path), coverage=cov)
            out[path] = (
                frozenset(reporter.lines()),
                {line: n for line, n in reporter.exit_counts().items() if n > 1},
            )
        except Exception:  # noqa: S112 - an unparsable file is judged on its lines alone
            continue
    return out
