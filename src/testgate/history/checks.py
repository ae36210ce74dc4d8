"""Checks from the history: pure functions (query answer, limit) -> CheckResult.

`testgate history ... --fail-on-*` judges with them, and the gate can add them to its result
(`history_checks`), with the same ids, actuals, limits and messages.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from testgate.checks import CheckResult, Status
from testgate.history import queries, store
from testgate.model import display_percent


def _pc(value: float) -> str:
    return display_percent(value, 2) + "%"


def coverage_drop_check(
    points: Sequence[queries.TrendPoint], max_drop: float, *, module: str | None = None
) -> CheckResult:
    """Coverage may fall at most `max_drop` points from the oldest to the newest run."""
    check_id = "history.coverage_drop" + (f":{module}" if module else "")
    what = f"coverage of {module}" if module else "total coverage"
    drop = queries.coverage_drop(points)
    if drop is None:
        return CheckResult(
            check_id, Status.PASS, f"{what}: fewer than 2 runs in the history, no trend yet",
            None, max_drop,
        )  # fmt: skip
    span = (
        f"over the last {len(points)} runs "
        f"({_pc(drop.first.percent)} -> {_pc(drop.latest.percent)})"
    )
    if drop.points > max_drop:
        return CheckResult(
            check_id, Status.FAIL,
            f"{what} dropped {drop.points:.2f} points {span}, more than the allowed {max_drop:g}",
            round(drop.points, 2), max_drop,
        )  # fmt: skip
    return CheckResult(
        check_id, Status.PASS,
        f"{what} changed {-drop.points:+.2f} points {span}, within {max_drop:g}",
        round(drop.points, 2), max_drop,
    )  # fmt: skip


def regressions_check(regressions: Sequence[queries.Regression], factor: float) -> CheckResult:
    """No test may be more than `factor` x slower than its median over the earlier runs."""
    if not regressions:
        return CheckResult(
            "history.duration_regressions", Status.PASS,
            f"no test is more than {factor:g}x slower than its median over earlier runs",
            0, factor,
        )  # fmt: skip
    worst = regressions[0]
    return CheckResult(
        "history.duration_regressions",
        Status.FAIL,
        f"{len(regressions)} tests are more than {factor:g}x slower than their median; worst "
        f"{worst.node_id}: {worst.current:.3f}s is {worst.factor:.1f}x its {worst.baseline:.3f}s",
        len(regressions),
        factor,
        details=tuple(
            f"{r.node_id}: {r.current:.3f}s is {r.factor:.1f}x its median {r.baseline:.3f}s"
            for r in regressions
        ),
    )


def flaky_check(
    report: queries.FlakyReport, max_flaky: int, *, quarantined: Collection[str] = ()
) -> CheckResult:
    """At most `max_flaky` tests (quarantined ones aside) may carry the flaky label."""
    labelled = [t for t in report.active if t.node_id not in quarantined]
    runs = len(report.window)
    if len(labelled) > max_flaky:
        return CheckResult(
            "history.flaky",
            Status.FAIL,
            f"{len(labelled)} tests failed and passed on the same commit in the last {runs} "
            f"runs, more than the allowed {max_flaky}",
            len(labelled),
            max_flaky,
            details=tuple(f"{t.node_id}: flaked in {t.flaked} of {t.runs} runs" for t in labelled),
        )
    return CheckResult(
        "history.flaky", Status.PASS,
        f"{len(labelled)} flaky tests in the last {runs} runs (at most {max_flaky})",
        len(labelled), max_flaky,
    )  # fmt: skip


def history_checks(
    db_path: Path,
    *,
    branch: str | None = None,
    last: int = 10,
    max_drop: float | None = None,
    max_regression: float | None = None,
    regression_floor: float = 0.1,
    max_flaky: int | None = None,
    quarantined: Collection[str] = (),
) -> list[CheckResult]:
    """The checks whose limit is given, judged on the history at `db_path` (after this run
    was recorded). A missing history is an InputError: a gate that asks for it must have it."""
    checks = []
    db = store.connect(db_path, create=False)
    try:
        with store.guard(db_path):
            if max_drop is not None:
                points = queries.coverage_trend(db, last=last, branch=branch)
                checks.append(coverage_drop_check(points, max_drop))
            if max_regression is not None:
                found = queries.duration_regressions(
                    db, last=last, factor=max_regression, floor=regression_floor, branch=branch
                )
                checks.append(regressions_check(found, max_regression))
            if max_flaky is not None:
                report = queries.flaky_tests(db, last=max(last, 30), branch=branch)
                checks.append(flaky_check(report, max_flaky, quarantined=quarantined))
    finally:
        db.close()
    return checks
