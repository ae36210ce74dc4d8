"""Diff coverage: of the lines and branches changed against a git base, which are not tested.

Pure: `testgate.read.diff` asks git and coverage.py's parser; `check_diff` judges what they said.
"""

from __future__ import annotations

from collections.abc import Iterable

from coverage.results import should_fail_under

from testgate.checks import Annotation, CheckResult, Status
from testgate.checks._common import num, plural
from testgate.checks.coverage import actual, shown
from testgate.model import CoverageData, FileCoverage, percent
from testgate.model.diff import Diff, Parsed

__all__ = ["Diff", "Parsed", "check_diff", "diff_error"]


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
