from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from testgate.checks import Status
from testgate.checks.flaky_new import check_flaky_new
from testgate.config import FlakyBudget, QuarantineEntry
from testgate.errors import InputError
from testgate.flaky.burnin import repetitions
from testgate.model.flaky import FlakyReport

TODAY = dt.date(2026, 11, 30)


def report(new: list[str], tests: list[dict[str, Any]], **meta: Any) -> FlakyReport:
    burn = {"base": "main", "new": new, "commit": "abc", "selection": "history"}
    meta = {"format": 1, "complete": True, "burn_in": burn, **meta}
    return FlakyReport.from_json({"meta": meta, "runs": [], "tests": tests})


def entry(test_id: str, verdict: str, failed: int = 0) -> dict[str, Any]:
    flaky = verdict == "flaky"
    return {
        "id": test_id,
        "verdict": verdict,
        "passed": 10 - failed,
        "failed": failed,
        "kind": "order-dependent" if flaky else None,
        "polluter": "t.py::p" if flaky else None,
        "repro": "python -m pytest t.py::p t.py::v" if flaky else None,
    }


@pytest.mark.parametrize(
    ("seconds", "runs"),
    [
        (0.0, 10),
        (4.99, 10),
        (5.0, 5),
        (9.9, 5),
        (10.0, 3),
        (29.0, 3),
        (30.0, 2),
        (299, 2),
        (300, 1),
    ],
)
def test_repetitions_by_duration(seconds: float, runs: int) -> None:
    assert repetitions(seconds) == runs


def test_a_flaky_new_test_fails_with_its_explanation() -> None:
    data = report(
        ["t.py::v", "t.py::ok"], [entry("t.py::v", "flaky", 3), entry("t.py::ok", "passed")]
    )
    result = check_flaky_new(data, FlakyBudget(), today=TODAY, commit="abc")
    assert result.status is Status.FAIL
    assert result.message == "1 of 2 new tests against main flaky in the burn-in"
    assert (result.actual, result.limit) == (1, 0)
    assert result.details == (
        "t.py::v: order-dependent, failed 3 of 10 runs after polluter t.py::p; "
        "repro: python -m pytest t.py::p t.py::v",
    )
    assert result.annotations[0].file == "t.py"


def test_clean_quarantined_unrun_and_empty() -> None:
    clean = report(["t.py::ok"], [entry("t.py::ok", "passed"), entry("t.py::old", "flaky", 1)])
    result = check_flaky_new(clean, FlakyBudget(), today=TODAY)
    assert (result.status, result.message) == (
        Status.PASS,
        "1 new test against main, none flaky in the burn-in",
    )
    held = FlakyBudget(quarantine=(QuarantineEntry("t.py::v", dt.date(2027, 1, 1), "x"),))
    data = report(["t.py::v"], [entry("t.py::v", "flaky", 2)])
    result = check_flaky_new(data, held, today=TODAY)
    assert result.status is Status.PASS
    assert result.details == ("t.py::v: flaky, quarantined",)
    unrun = check_flaky_new(report(["t.py::gone"], []), FlakyBudget(), today=TODAY)
    assert (unrun.status, unrun.details) == (Status.FAIL, ("t.py::gone: never ran in the burn-in",))
    none = check_flaky_new(report([], []), FlakyBudget(), today=TODAY)
    assert (none.status, none.message) == (Status.PASS, "no new tests against main")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            FlakyReport.from_json({"meta": {"format": 1}, "runs": [], "tests": []}),
            "no meta.burn_in",
        ),
        (report([], [], complete=False), "interrupted burn-in"),
        (report([], []), "burned in commit abc, not this checkout's def"),
    ],
)
def test_unjudgeable_reports_fail_closed(data: FlakyReport, problem: str) -> None:
    result = check_flaky_new(data, FlakyBudget(), today=TODAY, commit="def")
    assert result.status is Status.FAIL
    assert problem in result.message
    assert "re-run testgate flaky --new" in result.message


def test_the_burn_in_fields_round_trip_and_are_validated() -> None:
    data = report(["t.py::v"], [{**entry("t.py::v", "flaky", 2), "new": True}])
    assert data.tests[0].new is True
    again = FlakyReport.from_json(data.to_json())
    assert again == data
    broken = data.to_json()
    broken["meta"]["burn_in"]["planned_runs"] = {"t.py::v": "ten"}
    with pytest.raises(InputError, match=r"planned_runs: expected an object of run counts"):
        FlakyReport.from_json(broken)
    broken["meta"]["burn_in"] = {"base": "main", "new": [1], "selection": "history"}
    with pytest.raises(InputError, match="new: expected a list of strings"):
        FlakyReport.from_json(broken)
