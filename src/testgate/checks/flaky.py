"""The flakiness budget, judged from a parsed flaky.json (the hunt's exit code and the gate)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from testgate.checks import Annotation, CheckResult, Status
from testgate.config import FlakyBudget


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _problem(report: Any) -> str | None:
    """Why the report cannot be judged, if it cannot: a gate fails closed on it."""
    if not isinstance(report, Mapping):
        return "flaky.json is not a JSON object; re-run testgate flaky"
    meta = report.get("meta")
    if not isinstance(meta, Mapping) or meta.get("format") != 1:
        return "flaky.json is not testgate's format 1; re-run testgate flaky"
    runs, tests = report.get("runs"), report.get("tests")
    if not isinstance(runs, list) or not isinstance(tests, list):
        return "flaky.json has no runs or tests list; re-run testgate flaky"
    if not all(isinstance(t, Mapping) and "id" in t and "verdict" in t for t in tests):
        return "flaky.json has a test without id or verdict; re-run testgate flaky"
    if not runs or not tests:
        return "flaky.json records no runs or no tests; the hunt found nothing to judge"
    count = meta.get("count")
    if meta.get("complete") is False or (isinstance(count, int) and len(runs) < count):
        return (
            f"flaky.json is from an interrupted hunt ({len(runs)} of {count} runs); "
            "finish it with testgate flaky --resume"
        )
    return None


def check_flaky(
    report: Mapping[str, Any], budget: FlakyBudget, *, today: dt.date
) -> list[CheckResult]:
    problem = _problem(report)
    if problem is not None:
        return [CheckResult("flaky.report", Status.FAIL, problem)]
    tests = report["tests"]
    runs = len(report["runs"])
    active = {q.id: q for q in budget.quarantine if q.until >= today}
    flaky = [t for t in tests if t["verdict"] == "flaky"]
    counted = [t for t in flaky if t["id"] not in active]
    held = [t for t in flaky if t["id"] in active]
    details = [_detail(t) for t in counted] + [
        f"{t['id']}: quarantined until {active[t['id']].until} ({active[t['id']].reason})"
        for t in held
    ]
    quarantined = f" ({len(held)} quarantined)" if held else ""
    found = f"{_plural(len(counted), 'flaky test')}{quarantined} in {_plural(runs, 'run')}"
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
            annotations=tuple(
                Annotation(t["id"].split("::")[0], None, _detail(t)) for t in counted
            ),
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


def _detail(test: Mapping[str, Any]) -> str:
    kind = test.get("kind") or "flaky"
    executed = int(test.get("passed", 0)) + int(test.get("failed", 0))
    text = f"{test['id']}: {kind}, failed {test.get('failed', 0)} of {executed} runs"
    if test.get("polluter"):
        text += f" after polluter {test['polluter']}"
    if test.get("state_setter"):
        text += f", passes after state setter {test['state_setter']}"
    if test.get("repro"):
        text += f"; repro: {test['repro']}"
    return text
