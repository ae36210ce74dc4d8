"""Test inventory: did tests run, enough of them, none red, few skipped, nothing truncated."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import PurePath

from testgate.checks import Annotation, CheckResult, Status
from testgate.checks._common import plural, status
from testgate.config import TestsBudget
from testgate.model import Case, JUnitReport, Outcome, Totals

MAX_LISTED = 50


def _listed(cases: Sequence[Case]) -> tuple[str, ...]:
    lines = []
    for case in cases[:MAX_LISTED]:
        why = f" - {case.message.splitlines()[0][:200]}" if case.message else ""
        lines.append(f"{case.outcome.value.upper()} {case.node_id}{why}")
    if len(cases) > MAX_LISTED:
        lines.append(f"... and {len(cases) - MAX_LISTED} more")
    return tuple(lines)


def check_inventory(
    reports: Sequence[JUnitReport],
    budget: TestsBudget,
    *,
    line_of: Callable[[Case], int | None] | None = None,
) -> list[CheckResult]:
    totals = sum((r.totals for r in reports), Totals())
    versions = per_version(reports)
    count = (
        check_count(totals, budget)
        if len(versions) < 2
        else check_count_per_version(versions, budget)
    )
    results = [count, check_failures(reports, line_of=line_of)]
    if budget.max_skipped is not None:
        results.append(
            _at_most("tests.skipped", "skipped", totals.skipped, budget.max_skipped, reports)
        )
    if budget.max_xfailed is not None:
        results.append(
            _at_most("tests.xfailed", "xfailed", totals.xfailed, budget.max_xfailed, reports)
        )
    salvaged = check_salvaged(reports, budget)
    if salvaged is not None:
        results.append(salvaged)
    return results


_VERSION = re.compile(r"-py(?P<version>\d+\.\d+)(?:-\d+)?$")


def per_version(reports: Sequence[JUnitReport]) -> dict[str, Totals]:
    """Totals per Python version of sessions run side by side (`junit/unit-py3.12.xml`); a
    file of no particular version counts for every version."""
    versions: dict[str, Totals] = {}
    common = Totals()
    for r in reports:
        found = _VERSION.search(PurePath(r.path).stem)
        if found is None:
            common += r.totals
        else:
            versions[found["version"]] = versions.get(found["version"], Totals()) + r.totals
    return {v: t + common for v, t in sorted(versions.items(), key=lambda i: _release(i[0]))}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def check_count_per_version(versions: dict[str, Totals], budget: TestsBudget) -> CheckResult:
    """With several Python versions, the minimum holds on each: one version that collected
    nothing is not hidden by the others."""
    minimum = budget.min_count if budget.min_count is not None else 1
    fewest = min(t.tests for t in versions.values())
    each = ", ".join(f"Python {v}: {t.tests}" for v, t in versions.items())
    if fewest < minimum:
        low = [v for v, t in versions.items() if t.tests < minimum]
        message = (
            f"tests per Python version ({each}): fewer than the minimum {minimum} on "
            f"{', '.join(low)}; were tests deleted, deselected or not collected there?"
        )
    else:
        message = f"tests per Python version ({each}), minimum {minimum} on each"
    return CheckResult(
        "tests.count", status(fewest >= max(minimum, 1)), message, actual=fewest, limit=minimum
    )


def check_count(totals: Totals, budget: TestsBudget) -> CheckResult:
    minimum = budget.min_count if budget.min_count is not None else 1
    if totals.tests == 0:
        message = "no tests ran; check the test paths and that pytest wrote --junitxml"
    elif totals.tests < minimum:
        message = (
            f"{plural(totals.tests, 'test')} ran, fewer than the minimum {minimum}; "
            "were tests deleted, deselected or not collected?"
        )
    else:
        message = f"{plural(totals.tests, 'test')} ran (minimum {minimum})"
    return CheckResult(
        "tests.count",
        status(totals.tests >= max(minimum, 1)),
        message,
        actual=totals.tests,
        limit=minimum,
    )


def check_failures(
    reports: Sequence[JUnitReport], *, line_of: Callable[[Case], int | None] | None = None
) -> CheckResult:
    """The gate never says pass over red tests."""
    red = [c for r in reports for c in r.cases if c.failed]
    failed = sum(1 for c in red if c.outcome is Outcome.FAILED)
    errors = len(red) - failed
    if red:
        message = (
            f"{plural(failed, 'test')} failed and {plural(errors, 'error')}; "
            "fix them (the gate never passes over red tests)"
        )
    else:
        message = "no test failed"
    annotations = tuple(
        Annotation(
            c.file or c.node_id.split("::", 1)[0],
            line_of(c) if line_of else None,
            _listed([c])[0],
        )
        for c in red[:MAX_LISTED]
    )
    return CheckResult(
        "tests.failures",
        status(not red),
        message,
        actual=len(red),
        limit=0,
        details=_listed(red),
        annotations=annotations,
    )


def _at_most(
    check_id: str, word: str, count: int, limit: int, reports: Sequence[JUnitReport]
) -> CheckResult:
    outcome = Outcome.XFAILED if word == "xfailed" else Outcome.SKIPPED
    cases = [c for r in reports for c in r.cases if c.outcome is outcome]
    if count > limit:
        message = (
            f"{plural(count, 'test')} {word}, more than the maximum {limit}; "
            f"fix or delete them rather than leaving them {word}"
        )
    else:
        message = f"{plural(count, 'test')} {word} (maximum {limit})"
    return CheckResult(
        check_id,
        status(count <= limit),
        message,
        actual=count,
        limit=limit,
        details=_listed(cases) if count > limit else (),
    )


def check_salvaged(reports: Sequence[JUnitReport], budget: TestsBudget) -> CheckResult | None:
    """A truncated JUnit file means the run crashed: its missing tests never ran."""
    cut = [r for r in reports if r.salvaged]
    if not cut:
        return None
    names = ", ".join(r.path for r in cut)
    details = tuple(f"{r.path}: {plural(len(r.cases), 'case')} salvaged" for r in cut)
    if budget.allow_salvaged:
        return CheckResult(
            "inputs.junit.truncated",
            Status.WARN,
            f"{names} truncated (the run crashed); its complete cases are counted "
            "because tests.allow_salvaged = true",
            actual=len(cut),
            limit=0,
            details=details,
        )
    return CheckResult(
        "inputs.junit.truncated",
        Status.FAIL,
        f"{names} truncated: the test run crashed before finishing; rerun it "
        "(or set tests.allow_salvaged = true to count the complete cases)",
        actual=len(cut),
        limit=0,
        details=details,
    )
