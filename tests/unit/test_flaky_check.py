from __future__ import annotations

import datetime as dt

from testgate.checks import Status
from testgate.checks.flaky import check_flaky
from testgate.config import FlakyBudget, QuarantineEntry
from testgate.model.flaky import FlakyReport

TODAY = dt.date(2026, 11, 21)


def report(*verdicts: str, count: int | None = None, complete: bool = True) -> FlakyReport:
    tests = [
        {
            "id": f"tests/test_m.py::test_{n}",
            "runs": 10,
            "passed": 6 if v == "flaky" else 10,
            "failed": 4 if v == "flaky" else 0,
            "verdict": v,
            "kind": "order-dependent" if v == "flaky" else None,
            "polluter": "tests/test_p.py::test_p" if v == "flaky" else None,
            "state_setter": None,
            "repro": "python -m pytest x" if v == "flaky" else None,
        }
        for n, v in enumerate(verdicts)
    ]
    runs = [{"iteration": i} for i in range(1, 11)]
    return FlakyReport.from_json(
        {
            "meta": {"format": 1, "count": count or len(runs), "complete": complete},
            "runs": runs,
            "tests": tests,
        }
    )


def test_no_flaky_tests_pass() -> None:
    [result] = check_flaky(report("passed", "failed"), FlakyBudget(), today=TODAY)
    assert result.status is Status.PASS
    assert result.message == "0 flaky tests in 10 runs, within the maximum 0"
    assert (result.actual, result.limit) == (0, 0)


def test_flaky_over_the_maximum_fails_with_details() -> None:
    [result] = check_flaky(
        report("flaky", "flaky", "passed"), FlakyBudget(max_flaky=1), today=TODAY
    )
    assert result.status is Status.FAIL
    assert result.message == "2 flaky tests in 10 runs, more than the maximum 1"
    assert result.details[0] == (
        "tests/test_m.py::test_0: order-dependent, failed 4 of 10 runs after polluter "
        "tests/test_p.py::test_p; repro: python -m pytest x"
    )
    assert [a.file for a in result.annotations] == ["tests/test_m.py"] * 2


def test_a_quarantined_flaky_test_is_reported_not_failed() -> None:
    entry = QuarantineEntry("tests/test_m.py::test_0", dt.date(2027, 1, 31), "issue 12")
    [result] = check_flaky(report("flaky"), FlakyBudget(quarantine=(entry,)), today=TODAY)
    assert result.status is Status.PASS
    assert result.message == "0 flaky tests (1 quarantined) in 10 runs, within the maximum 0"
    assert result.details == ("tests/test_m.py::test_0: quarantined until 2027-01-31 (issue 12)",)


def test_an_expired_quarantine_fails_with_a_message() -> None:
    entry = QuarantineEntry("tests/test_m.py::test_0", dt.date(2026, 11, 20), "issue 12")
    results = check_flaky(report("flaky"), FlakyBudget(quarantine=(entry,)), today=TODAY)
    assert [(r.id, r.status) for r in results] == [
        ("flaky.tests", Status.FAIL),
        ("flaky.quarantine:tests/test_m.py::test_0", Status.FAIL),
    ]
    assert results[1].message.startswith(
        "quarantine of tests/test_m.py::test_0 expired on 2026-11-20 (issue 12); fix the test"
    )
    no_reason = QuarantineEntry("tests/x.py::t", dt.date(2020, 1, 1))
    [_, expired] = check_flaky(report("passed"), FlakyBudget(quarantine=(no_reason,)), today=TODAY)
    assert "expired on 2020-01-01; fix" in expired.message


def test_the_quarantine_holds_through_its_last_day() -> None:
    entry = QuarantineEntry("tests/test_m.py::test_0", TODAY)
    [result] = check_flaky(report("flaky"), FlakyBudget(quarantine=(entry,)), today=TODAY)
    assert result.status is Status.PASS


def test_a_report_without_runs_or_tests_fails_closed() -> None:
    empty = FlakyReport.from_json({"meta": {"format": 1}, "runs": [], "tests": []})
    [result] = check_flaky(empty, FlakyBudget(), today=TODAY)
    assert (result.id, result.status) == ("flaky.report", Status.FAIL)
    assert "no runs or no tests" in result.message


def test_an_interrupted_hunt_fails_closed() -> None:
    for partial in (report("passed", complete=False), report("passed", count=12)):
        [result] = check_flaky(partial, FlakyBudget(), today=TODAY)
        assert result.status is Status.FAIL
        assert "interrupted hunt (10 of" in result.message
        assert "testgate flaky --resume" in result.message
