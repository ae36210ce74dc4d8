from __future__ import annotations

from testgate.checks import Status
from testgate.checks.inputs import check_coverage, check_input, check_junit


def test_junit_inputs() -> None:
    none = check_junit("reports/junit", 0, [])
    assert none.status is Status.FAIL
    assert none.message.startswith("no JUnit files in reports/junit: run the tests first")
    broken = check_junit("reports/junit", 2, ["a.xml: empty file", "b.xml: not JUnit XML"])
    assert broken.status is Status.FAIL
    assert broken.message == "2 JUnit files unreadable: a.xml: empty file (and 1 more)"
    assert broken.details == ("a.xml: empty file", "b.xml: not JUnit XML")
    one = check_junit("reports/junit", 1, ["a.xml: empty file"])
    assert one.message == "1 JUnit file unreadable: a.xml: empty file"
    assert check_junit("reports/junit", 3, []).status is Status.PASS


def test_coverage_inputs_fresh_stale_missing() -> None:
    assert check_coverage("no data").status is Status.FAIL
    fresh = check_coverage(None, source="reports/coverage.json", written=100.0, run_started=101.0)
    assert fresh.status is Status.PASS
    stale = check_coverage(None, source="reports/coverage.json", written=100.0, run_started=3700.0)
    assert stale.status is Status.FAIL
    assert stale.message.startswith(
        "reports/coverage.json: stale, written 1:00:00 before the latest test run started"
    )
    assert check_coverage(None, source="x", written=1.0, run_started=None).passed


def test_other_inputs() -> None:
    assert check_input("inputs.flaky", "bad json", "").status is Status.FAIL
    assert check_input("inputs.flaky", None, "read").status is Status.PASS
