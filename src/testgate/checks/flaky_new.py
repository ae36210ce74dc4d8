"""`flaky.new`: no test a change adds is flaky, judged from the burn-in's flaky-new.json."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from testgate.checks import Annotation, CheckResult, Status
from testgate.checks.flaky import _detail
from testgate.config import FlakyBudget

CHECK_ID = "flaky.new"
RERUN = "re-run testgate flaky --new"


def _problem(report: Any, commit: str | None) -> str | None:
    """Why the burn-in report cannot be judged, if it cannot: the gate fails closed on it."""
    if not isinstance(report, Mapping) or not isinstance(report.get("meta"), Mapping):
        return f"flaky-new.json is not a testgate burn-in report; {RERUN}"
    meta = report["meta"]
    burn = meta.get("burn_in")
    tests = report.get("tests")
    if not isinstance(burn, Mapping) or not isinstance(burn.get("new"), list):
        return f"flaky-new.json has no list of new tests; {RERUN}"
    if not isinstance(tests, list) or not all(
        isinstance(t, Mapping) and "id" in t and "verdict" in t for t in tests
    ):
        return f"flaky-new.json has no valid tests list; {RERUN}"
    if meta.get("complete") is False:
        return f"flaky-new.json is from an interrupted burn-in; {RERUN}"
    ran_at = burn.get("commit")
    if commit is not None and ran_at is not None and ran_at != commit:
        return f"flaky-new.json burned in commit {ran_at}, not this checkout's {commit}; {RERUN}"
    return None


def check_flaky_new(
    report: Mapping[str, Any], budget: FlakyBudget, *, today: dt.date, commit: str | None = None
) -> CheckResult:
    problem = _problem(report, commit)
    if problem is not None:
        return CheckResult(CHECK_ID, Status.FAIL, problem)
    burn = report["meta"]["burn_in"]
    base = burn.get("base", "the base")
    tests = {t["id"]: t for t in report["tests"]}
    new = [str(i) for i in burn["new"]]
    if not new:
        return CheckResult(CHECK_ID, Status.PASS, f"no new tests against {base}", actual=0, limit=0)
    unrun = [i for i in new if i not in tests or tests[i]["verdict"] == "skipped"]
    active = {q.id for q in budget.quarantine if q.until >= today}
    flaky = [tests[i] for i in new if i in tests and tests[i]["verdict"] == "flaky"]
    counted = [t for t in flaky if t["id"] not in active]
    details = [_detail(t) for t in counted] + [f"{i}: never ran in the burn-in" for i in unrun]
    details += [f"{t['id']}: flaky, quarantined" for t in flaky if t["id"] in active]
    n = len(new)
    if counted:
        message = f"{len(counted)} of {n} new tests against {base} flaky in the burn-in"
    elif unrun:
        message = f"{len(unrun)} of {n} new tests against {base} never ran in the burn-in"
    else:
        message = f"{n} new test{'s' if n != 1 else ''} against {base}, none flaky in the burn-in"
    return CheckResult(
        CHECK_ID,
        Status.FAIL if counted or unrun else Status.PASS,
        message,
        actual=len(counted),
        limit=0,
        details=tuple(details),
        annotations=tuple(Annotation(t["id"].split("::")[0], None, _detail(t)) for t in counted),
    )
