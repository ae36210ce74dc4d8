"""`reports/gate.json`, format 1: what CI scripts and the next run's baseline read."""

from __future__ import annotations

from typing import TypedDict

from testgate import __version__
from testgate.checks import CheckResult, GateResult
from testgate.model import CoverageData, JUnitReport, Totals, display_percent

FORMAT = 1


class Meta(TypedDict):
    format: int
    tool: str
    version: str


class CheckDict(TypedDict):
    id: str
    status: str
    actual: float | int | str | None
    limit: float | int | str | None
    message: str
    details: list[str]


class TotalsDict(TypedDict):
    tests: int
    passed: int
    failed: int
    errors: int
    skipped: int
    xfailed: int
    xpassed: int
    seconds: float


class CoverageDict(TypedDict):
    """Enough of the coverage for a later run to use this file as its baseline."""

    percent: float  # unrounded, as coverage.py computes it
    display: str  # as `coverage report` shows it
    precision: int
    statements: int
    missing: int
    branches: int
    missing_branches: int
    files: dict[str, list[int]]  # path -> [statements, missing lines]


class GateDict(TypedDict):
    meta: Meta
    passed: bool
    checks: list[CheckDict]
    totals: TotalsDict | None
    coverage: CoverageDict | None


def meta() -> Meta:
    return {"format": FORMAT, "tool": "testgate", "version": __version__}


def check_dict(check: CheckResult) -> CheckDict:
    return {
        "id": check.id,
        "status": check.status.value,
        "actual": check.actual,
        "limit": check.limit,
        "message": check.message,
        "details": list(check.details),
    }


def coverage_dict(data: CoverageData) -> CoverageDict:
    t = data.totals
    return {
        "percent": t.percent,
        "display": display_percent(t.percent, data.precision),
        "precision": data.precision,
        "statements": t.statements,
        "missing": t.missing,
        "branches": t.branches,
        "missing_branches": t.missing_branches,
        "files": {p: [f.statements, f.missing] for p, f in sorted(data.files.items())},
    }


def gate_dict(
    result: GateResult,
    reports: tuple[JUnitReport, ...] | list[JUnitReport] = (),
    coverage: CoverageData | None = None,
) -> GateDict:
    totals: TotalsDict | None = None
    if reports:
        t = sum((r.totals for r in reports), Totals())
        totals = {
            "tests": t.tests,
            "passed": t.passed,
            "failed": t.failed,
            "errors": t.errors,
            "skipped": t.skipped,
            "xfailed": t.xfailed,
            "xpassed": t.xpassed,
            "seconds": round(t.seconds, 3),
        }
    return {
        "meta": meta(),
        "passed": result.passed,
        "checks": [check_dict(c) for c in result.checks],
        "totals": totals,
        "coverage": coverage_dict(coverage) if coverage is not None else None,
    }
