"""Fail closed: a missing, empty, unreadable or stale input is a failing `inputs.*` check.

These are pure: the gate does the file system work and hands over what it found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from testgate.checks import CheckResult, Status
from testgate.checks._common import plural
from testgate.model.gate import STALE_SLACK

__all__ = ["STALE_SLACK", "check_coverage", "check_input", "check_junit"]


def check_junit(directory: str, found: int, errors: Sequence[str]) -> CheckResult:
    if errors:
        return CheckResult(
            "inputs.junit",
            Status.FAIL,
            f"{plural(len(errors), 'JUnit file')} unreadable: {errors[0]}"
            + ("" if len(errors) == 1 else f" (and {len(errors) - 1} more)"),
            actual=len(errors),
            limit=0,
            details=tuple(errors),
        )
    if found == 0:
        return CheckResult(
            "inputs.junit",
            Status.FAIL,
            f"no JUnit files in {directory}: run the tests first "
            f"(`pytest --junitxml={directory}/<session>.xml` or `nox -s unit`)",
            actual=0,
            limit=1,
        )
    return CheckResult(
        "inputs.junit", Status.PASS, f"{plural(found, 'JUnit file')} read", actual=found, limit=1
    )


def check_coverage(
    error: str | None,
    *,
    source: str | None = None,
    written: float | None = None,
    run_started: float | None = None,
    read_from: str | None = None,
    changed: Sequence[str] = (),
) -> CheckResult:
    """Coverage is stale when all of it was written before the latest test run started.

    `source` is the newest input (what a stale message must name); `read_from` what was read;
    `changed` the measured source files modified since, whose line numbers the data no longer
    describes (coverage.py would analyse old lines against new source and report nonsense).
    """
    if error is not None:
        return CheckResult("inputs.coverage", Status.FAIL, error, actual=None, limit=None)
    if written is not None and run_started is not None and written < run_started - STALE_SLACK:
        age = dt.timedelta(seconds=round(run_started - written))
        return CheckResult(
            "inputs.coverage",
            Status.FAIL,
            f"{source}: stale, written {age} before the latest test run started; "
            "rerun the tests with coverage so the data matches the run",
            actual=None,
            limit=None,
        )
    if changed:
        return CheckResult(
            "inputs.coverage",
            Status.FAIL,
            f"{changed[0]} changed after its coverage was measured ({source})"
            + (f", and {plural(len(changed) - 1, 'more file')}" if len(changed) > 1 else "")
            + "; the recorded lines no longer match the source: rerun the tests with coverage",
            actual=None,
            limit=None,
        )
    return CheckResult(
        "inputs.coverage",
        Status.PASS,
        f"coverage read from {read_from or source}",
        actual=None,
        limit=None,
    )


def check_input(check_id: str, error: str | None, ok_message: str) -> CheckResult:
    """Any other input (baseline, flaky.json): its error, or that it was read."""
    if error is not None:
        return CheckResult(check_id, Status.FAIL, error)
    return CheckResult(check_id, Status.PASS, ok_message)
