"""Coverage budgets: total, branches, per-glob modules, files at 0%, drop against a baseline.

Percentages are compared exactly as `coverage report --fail-under` compares them
(`coverage.results.should_fail_under`: rounded to the configured precision, 100 means 100).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coverage.results import should_fail_under

from testgate.checks import CheckResult, Status
from testgate.checks._common import glob_match, num, plural
from testgate.config import CoverageBudget
from testgate.model import CoverageData, CoverageTotals, FileCoverage, display_percent
from testgate.model.gate import CoverageBaseline

MAX_LISTED = 50


def shown(pc: float, precision: int) -> str:
    return display_percent(pc, precision) + "%"


def actual(pc: float, precision: int) -> float:
    """The number `coverage report` shows, as a number for gate.json."""
    return float(display_percent(pc, precision))


def _worst(files: Sequence[FileCoverage], precision: int, n: int = 5) -> tuple[str, ...]:
    ranked = sorted((f for f in files if f.statements), key=lambda f: (f.percent, f.path))
    return tuple(
        f"{f.path}: {shown(f.percent, precision)} ({plural(f.missing, 'line')} missing)"
        for f in ranked[:n]
        if f.percent < 100
    )


def check_coverage(
    data: CoverageData,
    budget: CoverageBudget,
    baseline: CoverageBaseline | None = None,
    *,
    given: str | None = None,
) -> list[CheckResult]:
    """Every coverage check but the diff one (that needs git)."""
    results = [check_total(data, budget.fail_under)]
    if budget.fail_under_branches is not None or data.has_branches:
        results.append(check_branches(data, budget.fail_under_branches))
    results.extend(check_modules(data, budget.modules))
    results.append(check_zero(data))
    if budget.max_drop is not None:
        results.append(check_drop(data, baseline, budget.max_drop, given=given))
    return results


def _unbudgeted(check_id: str, what: str, pc: float, precision: int) -> CheckResult:
    """The figure the gate read, shown even when no minimum is set: a row that cannot fail."""
    return CheckResult(
        check_id,
        Status.PASS,
        f"{what} {shown(pc, precision)} (no minimum set)",
        actual=actual(pc, precision),
        limit=None,
    )


def check_total(data: CoverageData, fail_under: float | None) -> CheckResult:
    totals = data.totals
    pc = totals.percent
    if fail_under is None:
        return _unbudgeted("coverage.total", "total coverage", pc, data.precision)
    text = shown(pc, data.precision)
    if should_fail_under(pc, fail_under, data.precision):
        message = (
            f"total coverage {text} is below the minimum {num(fail_under)}%; "
            "cover the missing lines (the files with most are listed; htmlcov/ shows them)"
        )
        return CheckResult(
            "coverage.total",
            Status.FAIL,
            message,
            actual=actual(pc, data.precision),
            limit=fail_under,
            details=_worst(list(data.files.values()), data.precision),
        )
    return CheckResult(
        "coverage.total",
        Status.PASS,
        f"total coverage {text} (minimum {num(fail_under)}%)",
        actual=actual(pc, data.precision),
        limit=fail_under,
    )


def check_branches(data: CoverageData, fail_under: float | None) -> CheckResult:
    totals = data.totals
    if fail_under is None:
        return _unbudgeted(
            "coverage.branches", "branch coverage", totals.branch_percent, data.precision
        )
    if not data.has_branches:
        return CheckResult(
            "coverage.branches",
            Status.FAIL,
            "no branch data: measure with branch = true in [tool.coverage.run]",
            actual=None,
            limit=fail_under,
        )
    pc = totals.branch_percent
    text = shown(pc, data.precision)
    if should_fail_under(pc, fail_under, data.precision):
        partial = sorted(
            (f for f in data.files.values() if f.missing_branches),
            key=lambda f: (-len(f.missing_branches), f.path),
        )
        return CheckResult(
            "coverage.branches",
            Status.FAIL,
            f"branch coverage {text} is below the minimum {num(fail_under)}% "
            f"({totals.missing_branches} of {totals.branches} branches never taken); "
            "test the other side of those conditions",
            actual=actual(pc, data.precision),
            limit=fail_under,
            details=tuple(
                f"{f.path}: {plural(len(f.missing_branches), 'branch')} never taken"
                for f in partial[:MAX_LISTED]
            ),
        )
    return CheckResult(
        "coverage.branches",
        Status.PASS,
        f"branch coverage {text} (minimum {num(fail_under)}%)",
        actual=actual(pc, data.precision),
        limit=fail_under,
    )


def check_modules(data: CoverageData, modules: Mapping[str, float]) -> list[CheckResult]:
    """One check per glob, on the aggregate of the files it matches (not their average)."""
    results = []
    for glob, minimum in modules.items():
        check_id = f"coverage.modules:{glob}"
        matched = sorted(
            (f for p, f in data.files.items() if glob_match(glob, p)), key=lambda f: f.path
        )
        if not matched:
            results.append(
                CheckResult(
                    check_id,
                    Status.FAIL,
                    f"{glob}: matches no measured file; fix the glob (paths are relative to "
                    "the project root, * stays in one folder, ** spans folders) or measure "
                    "those files",
                    actual=None,
                    limit=minimum,
                )
            )
            continue
        pc = CoverageTotals.of(matched).percent
        listing = tuple(f"{f.path}: {shown(f.percent, data.precision)}" for f in matched)
        count = plural(len(matched), "file")
        if should_fail_under(pc, minimum, data.precision):
            worst = min(matched, key=lambda f: (f.percent, f.path))
            message = (
                f"{glob}: {shown(pc, data.precision)} is below the module minimum "
                f"{num(minimum)}% ({count}; worst: {worst.path} {worst.percent:.1f}%)"
            )
            results.append(
                CheckResult(
                    check_id,
                    Status.FAIL,
                    message,
                    actual=actual(pc, data.precision),
                    limit=minimum,
                    details=listing,
                )
            )
        else:
            results.append(
                CheckResult(
                    check_id,
                    Status.PASS,
                    f"{glob}: {shown(pc, data.precision)} (module minimum {num(minimum)}%, "
                    f"{count})",
                    actual=actual(pc, data.precision),
                    limit=minimum,
                    details=listing,
                )
            )
    return results


def check_zero(data: CoverageData) -> CheckResult:
    """Files no test even imports. A warning: the total already counts them against you."""
    zero = sorted(p for p, f in data.files.items() if f.statements and f.covered == 0)
    if zero:
        return CheckResult(
            "coverage.zero",
            Status.WARN,
            f"{plural(len(zero), 'file')} at 0%: no test imports "
            + (
                "it; test it, delete it, or omit it"
                if len(zero) == 1
                else "them; test them, delete them, or omit them"
            )
            + " from coverage",
            actual=len(zero),
            limit=0,
            details=tuple(zero[:MAX_LISTED]),
        )
    return CheckResult("coverage.zero", Status.PASS, "no file at 0%", actual=0, limit=0)


def check_drop(
    data: CoverageData,
    baseline: CoverageBaseline | None,
    max_drop: float,
    *,
    given: str | None = None,
) -> CheckResult:
    """A drop fails only if uncovered lines grew: deleting covered code is not punished.

    `given`: the baseline the user named, when it turned out to hold no coverage."""
    if baseline is None and given is not None:
        return CheckResult(
            "coverage.max_drop",
            Status.FAIL,
            f"baseline {given} has no coverage to compare with; give a reports/ folder "
            "with coverage.json or gate.json, or one of those files",
            actual=None,
            limit=max_drop,
        )
    if baseline is None:
        return CheckResult(
            "coverage.max_drop",
            Status.WARN,
            "no baseline to compare with; pass --baseline PATH (a previous reports/ folder, "
            "its gate.json or coverage.json) or set [tool.testgate] baseline",
            actual=None,
            limit=max_drop,
        )
    now = round(data.totals.percent, data.precision)
    drop = round(baseline.percent - now, max(data.precision, 2))
    grew: list[str] = []
    missing_delta: int | None = None
    if baseline.files is not None:
        before = baseline.files
        missing_delta = 0
        for path, f in data.files.items():
            old_missing = before[path][1] if path in before else 0
            missing_delta += f.missing - old_missing
            if f.missing > old_missing:
                grew.append(f"{path}: {old_missing} -> {f.missing} uncovered lines")
        missing_delta -= sum(m for p, (_, m) in before.items() if p not in data.files)
    base = f"{baseline.percent:g}% in {baseline.source}"
    if drop <= max_drop + 1e-9:
        message = f"coverage {now:g}% vs {base}: drop {max(drop, 0):g} points (max {num(max_drop)})"
        return CheckResult(
            "coverage.max_drop", Status.PASS, message, actual=max(drop, 0.0), limit=max_drop
        )
    if missing_delta is not None and missing_delta <= 0:
        return CheckResult(
            "coverage.max_drop",
            Status.PASS,
            f"coverage {now:g}% vs {base}: dropped {drop:g} points but no line lost its "
            "coverage (covered code was deleted or moved)",
            actual=drop,
            limit=max_drop,
            details=tuple(grew[:MAX_LISTED]),
        )
    grown = f", {plural(missing_delta, 'more uncovered line')}" if missing_delta else ""
    return CheckResult(
        "coverage.max_drop",
        Status.FAIL,
        f"coverage dropped {drop:g} points, from {base} to {now:g}%{grown} "
        f"(max drop {num(max_drop)}); test the new or changed code",
        actual=drop,
        limit=max_drop,
        details=tuple(grew[:MAX_LISTED]),
    )
