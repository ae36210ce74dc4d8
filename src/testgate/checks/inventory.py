"""Test inventory: did tests run, enough of them, none red, few skipped, nothing truncated.

A failing test under an unexpired `[tool.testgate.flaky] quarantine` entry is a known flake: it
is listed under `tests.quarantined` (a warning) with its rate and expiry, not counted as red.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath

from testgate.checks import Annotation, CheckResult, Status
from testgate.checks._common import plural, status
from testgate.config import QuarantineEntry, TestsBudget
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
    quarantine: Sequence[QuarantineEntry] = (),
    today: dt.date | None = None,
    rates: Mapping[str, str] | None = None,
) -> list[CheckResult]:
    """`rates`: node id -> how often it flaked (from the last flake hunt), for known flakes."""
    totals = sum((r.totals for r in reports), Totals())
    versions = per_version(reports)
    count = (
        check_count(totals, budget)
        if len(versions) < 2
        else check_count_per_version(versions, budget)
    )
    day = today or dt.date.today()
    results = [
        count,
        check_failures(reports, line_of=line_of, quarantine=quarantine, today=day),
    ]
    known = check_quarantined(reports, quarantine, day, rates or {})
    if known is not None:
        results.append(known)
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


def quarantine_of(case: Case, entries: Sequence[QuarantineEntry]) -> QuarantineEntry | None:
    """The entry naming this test: its node id, or the id without parameters (`t[1]` -> `t`)."""
    base = case.node_id.split("[", 1)[0]
    return next((q for q in entries if q.id in (case.node_id, base)), None)


def _held(case: Case, entries: Sequence[QuarantineEntry], today: dt.date) -> bool:
    entry = quarantine_of(case, entries)
    return entry is not None and entry.until >= today


def check_failures(
    reports: Sequence[JUnitReport],
    *,
    line_of: Callable[[Case], int | None] | None = None,
    quarantine: Sequence[QuarantineEntry] = (),
    today: dt.date | None = None,
) -> CheckResult:
    """The gate never says pass over red tests (known flakes under quarantine aside)."""
    day = today or dt.date.today()
    reds = [c for r in reports for c in r.cases if c.failed]
    red = [c for c in reds if not _held(c, quarantine, day)]
    held = len(reds) - len(red)
    failed = sum(1 for c in red if c.outcome is Outcome.FAILED)
    errors = len(red) - failed
    aside = f" ({plural(held, 'quarantined known flake')} failed too: tests.quarantined)"
    if red:
        message = (
            f"{plural(failed, 'test')} failed and {plural(errors, 'error')}; "
            "fix them (the gate never passes over red tests)"
        )
    else:
        message = "no test failed"
    if held:
        message += aside
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
        details=_listed(red) + _expired(red, quarantine),
        annotations=annotations,
    )


def _expired(red: Sequence[Case], quarantine: Sequence[QuarantineEntry]) -> tuple[str, ...]:
    return tuple(
        f"{c.node_id}: its quarantine expired on {q.until.isoformat()}, so it counts again"
        for c in red
        if (q := quarantine_of(c, quarantine)) is not None
    )


def check_quarantined(
    reports: Sequence[JUnitReport],
    quarantine: Sequence[QuarantineEntry],
    today: dt.date,
    rates: Mapping[str, str],
) -> CheckResult | None:
    """The known flakes that failed in this run: a warning that lists them, never a failure."""
    held = [
        (c, q)
        for r in reports
        for c in r.cases
        if c.failed and (q := quarantine_of(c, quarantine)) is not None and q.until >= today
    ]
    if not held:
        return None
    details = tuple(
        f"{c.node_id}: known flake, {rates.get(c.node_id) or rates.get(q.id) or NO_RATE}; "
        f"quarantined until {q.until.isoformat()}" + (f" ({q.reason})" if q.reason else "")
        for c, q in held[:MAX_LISTED]
    )
    names = ", ".join(sorted({c.node_id for c, _ in held})[:3])
    verb = "was" if len(held) == 1 else "were"
    return CheckResult(
        "tests.quarantined",
        Status.WARN,
        f"{plural(len(held), 'quarantined known flake')} failed and {verb} not counted "
        f"({names}); fix them before their quarantine expires",
        actual=len(held),
        limit=None,
        details=details,
    )


NO_RATE = "flake rate not measured (no flake hunt in reports/flaky.json names it)"


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
