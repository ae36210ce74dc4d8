"""`flaky.new`: no test a change adds is flaky, judged from the burn-in's flaky-new.json."""

from __future__ import annotations

import datetime as dt

from testgate.checks import Annotation, CheckResult, Status
from testgate.checks.flaky import _detail
from testgate.config import FlakyBudget
from testgate.model.flaky import FLAKY, SKIPPED, FlakyReport

CHECK_ID = "flaky.new"
RERUN = "re-run testgate flaky --new"


def _problem(report: FlakyReport, commit: str | None) -> str | None:
    """Why the burn-in report cannot be judged, if it cannot: the gate fails closed on it."""
    burn = report.meta.burn_in
    if burn is None:
        return f"flaky-new.json is not a burn-in report (no meta.burn_in); {RERUN}"
    if report.meta.complete is False:
        return f"flaky-new.json is from an interrupted burn-in; {RERUN}"
    if commit is not None and burn.commit is not None and burn.commit != commit:
        return (
            f"flaky-new.json burned in commit {burn.commit}, not this checkout's {commit}; {RERUN}"
        )
    return None


def check_flaky_new(
    report: FlakyReport, budget: FlakyBudget, *, today: dt.date, commit: str | None = None
) -> CheckResult:
    problem = _problem(report, commit)
    if problem is not None or report.meta.burn_in is None:
        return CheckResult(CHECK_ID, Status.FAIL, problem or "")
    burn = report.meta.burn_in
    tests = {t.id: t for t in report.tests}
    new = list(burn.new)
    if not new:
        return CheckResult(CHECK_ID, Status.PASS, f"no new tests against {burn.base}", 0, 0)
    unrun = [i for i in new if i not in tests or tests[i].verdict == SKIPPED]
    active = {q.id for q in budget.quarantine if q.until >= today}
    flaky = [tests[i] for i in new if i in tests and tests[i].verdict == FLAKY]
    counted = [t for t in flaky if t.id not in active]
    details = [_detail(t) for t in counted] + [f"{i}: never ran in the burn-in" for i in unrun]
    details += [f"{t.id}: flaky, quarantined" for t in flaky if t.id in active]
    n, base = len(new), burn.base
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
        annotations=tuple(Annotation(t.id.split("::")[0], None, _detail(t)) for t in counted),
    )
