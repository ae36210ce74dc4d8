"""Checks on the run history: pure functions of what the history answered.

`testgate history trend --fail-on-drop` judges with `coverage_drop_check`.
"""

from __future__ import annotations

from collections.abc import Sequence

from testgate.checks import CheckResult, Status
from testgate.checks.coverage import shown
from testgate.model.history import TrendPoint, coverage_drop


def coverage_drop_check(
    points: Sequence[TrendPoint], max_drop: float, *, module: str | None = None
) -> CheckResult:
    """Coverage may fall at most `max_drop` points from the oldest to the newest run."""
    check_id = "history.coverage_drop" + (f":{module}" if module else "")
    what = f"coverage of {module}" if module else "total coverage"
    drop = coverage_drop(points)
    if drop is None:
        return CheckResult(
            check_id, Status.PASS, f"{what}: fewer than 2 runs in the history, no trend yet",
            None, max_drop,
        )  # fmt: skip
    span = (
        f"over the last {len(points)} runs "
        f"({shown(drop.first.percent, 2)} -> {shown(drop.latest.percent, 2)})"
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
