from __future__ import annotations

from testgate.checks import Status
from testgate.checks.inventory import check_inventory
from testgate.config import TestsBudget
from testgate.model import Case, JUnitReport, Outcome


def case(name: str, outcome: Outcome = Outcome.PASSED, message: str | None = None) -> Case:
    return Case(f"tests/test_a.py::{name}", name, outcome, 0.01, message=message)


def report(
    *cases: Case, salvaged: bool = False, path: str = "reports/junit/unit.xml"
) -> JUnitReport:
    return JUnitReport(path, tuple(cases), salvaged=salvaged)


def by_id(results: list) -> dict:  # type: ignore[type-arg]
    return {r.id: r for r in results}


def test_green_run_passes_with_count_and_failures_checks() -> None:
    results = by_id(check_inventory([report(case("a"), case("b"))], TestsBudget()))
    assert set(results) == {"tests.count", "tests.failures"}
    assert results["tests.count"].status is Status.PASS
    assert (results["tests.count"].actual, results["tests.count"].limit) == (2, 1)
    assert results["tests.failures"].status is Status.PASS
    assert results["tests.failures"].actual == 0


def test_no_tests_ran_fails_even_without_min_count() -> None:
    result = by_id(check_inventory([report()], TestsBudget()))["tests.count"]
    assert result.status is Status.FAIL
    assert result.message.startswith("no tests ran")


def test_min_count_counts_all_sessions_together() -> None:
    reports = [report(case("a")), report(case("b"), path="reports/junit/integration.xml")]
    assert by_id(check_inventory(reports, TestsBudget(min_count=2)))["tests.count"].passed
    short = by_id(check_inventory(reports, TestsBudget(min_count=3)))["tests.count"]
    assert short.status is Status.FAIL
    assert (short.actual, short.limit) == (2, 3)
    assert "2 tests ran, fewer than the minimum 3" in short.message


def test_failures_and_errors_fail_and_are_listed() -> None:
    reports = [
        report(
            case("ok"),
            case("bad", Outcome.FAILED, "assert 1 == 2\nmore"),
            case("boom", Outcome.ERROR, "fixture 'db' not found"),
        )
    ]
    result = by_id(check_inventory(reports, TestsBudget(min_count=1)))["tests.failures"]
    assert result.status is Status.FAIL
    assert result.actual == 2
    assert "1 test failed and 1 error" in result.message
    assert result.details == (
        "FAILED tests/test_a.py::bad - assert 1 == 2",
        "ERROR tests/test_a.py::boom - fixture 'db' not found",
    )


def test_failure_listing_is_bounded() -> None:
    reports = [report(*(case(f"t{n}", Outcome.FAILED) for n in range(60)))]
    result = by_id(check_inventory(reports, TestsBudget()))["tests.failures"]
    assert len(result.details) == 51
    assert result.details[-1] == "... and 10 more"
    assert "60 tests failed and 0 errors" in result.message


def test_skipped_and_xfailed_budgets_are_separate() -> None:
    reports = [report(case("s", Outcome.SKIPPED, "no db"), case("x", Outcome.XFAILED), case("p"))]
    results = by_id(check_inventory(reports, TestsBudget(max_skipped=1, max_xfailed=0)))
    assert results["tests.skipped"].status is Status.PASS
    assert results["tests.skipped"].actual == 1
    assert results["tests.skipped"].details == ()
    xf = results["tests.xfailed"]
    assert xf.status is Status.FAIL
    assert (xf.actual, xf.limit) == (1, 0)
    assert xf.details == ("XFAILED tests/test_a.py::x",)
    strict = by_id(check_inventory(reports, TestsBudget(max_skipped=0)))["tests.skipped"]
    assert strict.status is Status.FAIL
    assert strict.details == ("SKIPPED tests/test_a.py::s - no db",)
    assert "1 test skipped, more than the maximum 0" in strict.message


def test_salvaged_report_fails_unless_allowed() -> None:
    reports = [report(case("a"), salvaged=True)]
    failed = by_id(check_inventory(reports, TestsBudget()))["inputs.junit.truncated"]
    assert failed.status is Status.FAIL
    assert "reports/junit/unit.xml truncated" in failed.message
    assert "tests.allow_salvaged = true" in failed.message
    assert failed.details == ("reports/junit/unit.xml: 1 case salvaged",)
    allowed = by_id(check_inventory(reports, TestsBudget(allow_salvaged=True)))
    assert allowed["inputs.junit.truncated"].status is Status.WARN
    assert allowed["tests.count"].passed


def test_one_skipped_test_is_singular() -> None:
    reports = [JUnitReport("unit.xml", (Case("t.py::a", "a", Outcome.SKIPPED),))]
    skipped = by_id(check_inventory(reports, TestsBudget(max_skipped=0)))["tests.skipped"]
    assert skipped.message.startswith("1 test skipped, more than the maximum 0")


def test_min_count_holds_for_each_python_version() -> None:
    def run(name: str, n: int) -> JUnitReport:
        cases = tuple(Case(f"t.py::t{i}", f"t{i}", Outcome.PASSED) for i in range(n))
        return JUnitReport(f"reports/junit/{name}.xml", cases)

    reports = [run("unit-py3.10", 3), run("unit-py3.12", 5), run("unit-py3.11", 5)]
    reports.append(run("integration", 1))  # not of one version: counts for each
    count = by_id(check_inventory(reports, TestsBudget(min_count=5)))["tests.count"]
    assert count.status is Status.FAIL
    assert (count.actual, count.limit) == (4, 5)
    assert count.message == (
        "tests per Python version (Python 3.10: 4, Python 3.11: 6, Python 3.12: 6): fewer than "
        "the minimum 5 on 3.10; were tests deleted, deselected or not collected there?"
    )
    fine = by_id(check_inventory(reports[1:], TestsBudget(min_count=5)))["tests.count"]
    assert fine.status is Status.PASS
