"""Diff coverage: the lines and branches changed against a git base, and which are not tested.

`check_diff` is pure (coverage + changed lines -> result); `changed_lines`, `resolve_base` and
`branch_exits` talk to git and to coverage.py's parser, and are what the gate calls first.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import coverage
from coverage.python import PythonFileReporter
from coverage.results import should_fail_under

from testgate._safeio import MAX_SOURCE_BYTES, open_input, read_bytes
from testgate.checks import Annotation, CheckResult, Status
from testgate.checks._common import num, plural
from testgate.checks.coverage import actual, shown
from testgate.errors import InputError
from testgate.model import CoverageData, FileCoverage, percent

BASE_CANDIDATES = ("origin/HEAD", "origin/main", "main", "master")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class GitError(Exception):
    """Git could not answer; the message says what to do."""


class GitMissing(GitError):
    """No git executable at all."""


@dataclass(frozen=True)
class Diff:
    base: str  # the ref the user named or we found
    commit: str  # the merge base actually compared with
    lines: Mapping[str, frozenset[int]]  # path relative to the root -> changed line numbers


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GitMissing(f"git cannot run ({exc.strerror}); install git") from None
    if done.returncode != 0:
        raise GitError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return done.stdout


def resolve_base(root: Path, configured: str | None) -> tuple[str, str]:
    """(ref, merge-base commit) of HEAD and `configured` or the first of BASE_CANDIDATES."""
    try:
        _git(root, "rev-parse", "--verify", "-q", "HEAD")
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
            _git(root, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
        except GitError:
            continue
        try:
            return ref, _git(root, "merge-base", ref, "HEAD").strip()
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
    text = _git(
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
    untracked = _git(root, "-c", "core.quotepath=off", "ls-files", "--others", "--exclude-standard")
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


Parsed = Mapping[str, tuple[frozenset[int], dict[int, int]]]


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


def _ranges(numbers: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _span(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}-{b}"


def _arc(a: int, b: int) -> str:
    return f"{a}->{b}" if b > 0 else f"{a}->exit"


def check_diff(
    data: CoverageData,
    diff: Diff,
    fail_under: float,
    parsed: Parsed | None = None,
) -> CheckResult:
    """Coverage of changed statements and of the branches leaving changed lines.

    `parsed` (from `source_lines`) supplies executable lines a reader left out and the number
    of exits of each branching line; without it, branches count by their missing arcs only.
    """
    parsed = parsed or {}
    stmts = covered = branches = covered_branches = 0
    details: list[str] = []
    annotations: list[Annotation] = []
    for path in sorted(diff.lines):
        f: FileCoverage | None = data.files.get(path)
        if f is None:
            continue
        changed = diff.lines[path]
        executable = f.executable_lines or parsed.get(path, (frozenset(), {}))[0]
        changed_stmts = changed & executable
        missing = changed_stmts & set(f.missing_lines)
        stmts += len(changed_stmts)
        covered += len(changed_stmts) - len(missing)
        missed_arcs = [
            (a, b) for a, b in f.missing_branches if a in changed_stmts and a not in missing
        ]
        if data.has_branches:
            exits = parsed.get(path, (frozenset(), {}))[1]
            for line in changed_stmts - missing:
                n = exits.get(line, 0)
                gone = sum(1 for a, _ in missed_arcs if a == line)
                n = max(n, gone + 1) if gone else n
                branches += n
                covered_branches += n - gone
            for line in changed_stmts & missing:
                branches += exits.get(line, 0)
        if missing or missed_arcs:
            parts = []
            if missing:
                word = "line" if len(missing) == 1 else "lines"
                parts.append(f"{word} " + ", ".join(_span(a, b) for a, b in _ranges(missing)))
            if missed_arcs:
                word = "branch" if len(missed_arcs) == 1 else "branches"
                parts.append(f"{word} " + ", ".join(_arc(a, b) for a, b in sorted(missed_arcs)))
            details.append(f"{path}: " + "; ".join(parts))
            for a, b in _ranges(missing):
                what = f"line {a}" if a == b else f"lines {a}-{b}"
                annotations.append(Annotation(path, a, f"{what} changed but not covered by tests"))
            for a, b in sorted(missed_arcs):
                annotations.append(
                    Annotation(path, a, f"branch {_arc(a, b)} changed but never taken by tests")
                )
    pc = percent(covered + covered_branches, stmts + branches)
    text = shown(pc, data.precision)
    against = f"against {diff.base} ({diff.commit[:10]})"
    units = plural(stmts, "changed line") + (f" and {branches} branches" if branches else "")
    if stmts == 0:
        return CheckResult(
            "coverage.diff",
            Status.PASS,
            f"no changed executable line {against}",
            actual=100.0,
            limit=fail_under,
        )
    if should_fail_under(pc, fail_under, data.precision):
        return CheckResult(
            "coverage.diff",
            Status.FAIL,
            f"diff coverage {text} of {units} {against} is below the minimum "
            f"{num(fail_under)}%; test the lines listed",
            actual=actual(pc, data.precision),
            limit=fail_under,
            details=tuple(details),
            annotations=tuple(annotations),
        )
    return CheckResult(
        "coverage.diff",
        Status.PASS,
        f"diff coverage {text} of {units} {against} (minimum {num(fail_under)}%)",
        actual=actual(pc, data.precision),
        limit=fail_under,
        details=tuple(details),
        annotations=tuple(annotations),
    )


def diff_error(message: str, fail_under: float) -> CheckResult:
    return CheckResult("coverage.diff", Status.FAIL, message, actual=None, limit=fail_under)
