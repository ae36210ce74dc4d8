"""The flakiness budget, judged from a flake-hunt report (the hunt's exit code and the gate)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from testgate.checks import Annotation, CheckResult, Status
from testgate.checks._common import plural
from testgate.config import FlakyBudget
from testgate.model.flaky import FLAKY, FlakyReport, FlakyTest


def _problem(report: FlakyReport) -> str | None:
    """Why a well-formed report cannot be judged, if it cannot: a gate fails closed on it."""
    if not report.runs or not report.tests:
        return "flaky.json records no runs or no tests; the hunt found nothing to judge"
    if not report.complete:
        return (
            f"flaky.json is from an interrupted hunt ({len(report.runs)} of {report.meta.count} "
            "runs); finish it with testgate flaky --resume"
        )
    return None


def check_flaky(report: FlakyReport, budget: FlakyBudget, *, today: dt.date) -> list[CheckResult]:
    problem = _problem(report)
    if problem is not None:
        return [CheckResult("flaky.report", Status.FAIL, problem)]
    runs = len(report.runs)
    active = {q.id: q for q in budget.quarantine if q.until >= today}
    flaky = report.flaky
    counted = [t for t in flaky if t.id not in active]
    held = [t for t in flaky if t.id in active]
    details = [_detail(t) for t in counted] + [
        f"{t.id}: quarantined until {active[t.id].until} ({active[t.id].reason})" for t in held
    ]
    quarantined = f" ({len(held)} quarantined)" if held else ""
    found = f"{plural(len(counted), 'flaky test')}{quarantined} in {plural(runs, 'run')}"
    if len(counted) > budget.max_flaky:
        status = Status.FAIL
        message = f"{found}, more than the maximum {budget.max_flaky}"
    else:
        status = Status.PASS
        message = f"{found}, within the maximum {budget.max_flaky}"
    results = [
        CheckResult(
            "flaky.tests",
            status,
            message,
            actual=len(counted),
            limit=budget.max_flaky,
            details=tuple(details),
            annotations=tuple(Annotation(t.id.split("::")[0], None, _detail(t)) for t in counted),
        )
    ]
    for q in budget.quarantine:
        if q.until < today:
            reason = f" ({q.reason})" if q.reason else ""
            results.append(
                CheckResult(
                    f"flaky.quarantine:{q.id}",
                    Status.FAIL,
                    f"quarantine of {q.id} expired on {q.until.isoformat()}{reason}; fix the "
                    "test or move its until date in [tool.testgate.flaky] quarantine",
                    actual=q.until.isoformat(),
                    limit=today.isoformat(),
                )
            )
    return results


def _detail(test: FlakyTest) -> str:
    kind = test.kind or FLAKY
    text = f"{test.id}: {kind}, failed {test.failed} of {test.executed} runs"
    if test.polluter:
        text += f" after polluter {test.polluter}"
    if test.state_setter:
        text += f", passes after state setter {test.state_setter}"
    if test.repro:
        text += f"; repro: {test.repro}"
    return text


def flake_rates(report: Any) -> dict[str, str]:
    """How often each test flaked in a flake hunt (a parsed flaky.json), for known flakes the
    gate lists; tests without a usable count are left out (the flaky checks judge the file)."""
    rates: dict[str, str] = {}
    tests = report.get("tests") if isinstance(report, Mapping) else None
    for t in tests if isinstance(tests, list) else ():
        try:
            failed, passed = int(t["failed"]), int(t["passed"])
            node = str(t["id"])
        except (KeyError, TypeError, ValueError):
            continue
        if failed + passed:
            rates[node] = (
                f"flaked in {failed} of {failed + passed} runs ({failed / (failed + passed):.0%}) "
                "of the last flake hunt"
            )
    return rates
