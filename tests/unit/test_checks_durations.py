from __future__ import annotations

import pytest

from testgate.checks import Status
from testgate.checks.durations import (
    check_durations,
    check_regressions,
    check_sessions,
    check_test_limits,
    limit_for,
    lpt,
    session_of,
    summarize,
)
from testgate.config import DurationsBudget
from testgate.model import Case, JUnitReport, Outcome
from testgate.model.durations import per_test


def case(node: str, seconds: float) -> Case:
    return Case(node, node.rsplit("::", 1)[-1], Outcome.PASSED, seconds)


def report(path: str, *cases: Case, time: float | None = None) -> JUnitReport:
    return JUnitReport(path, tuple(cases), time=time)


@pytest.mark.parametrize(
    ("path", "session"),
    [
        ("reports/junit/unit.xml", "unit"),
        ("reports/junit/unit-3.xml", "unit"),
        ("reports/junit/integration.xml", "integration"),
        ("x/py-3-12.xml", "py-3"),
    ],
)
def test_session_of(path: str, session: str) -> None:
    assert session_of(path) == session


def test_most_specific_glob_wins_then_max_test() -> None:
    budget = DurationsBudget(
        max_test=2.0, paths={"tests/**": 1.0, "tests/unit/**": 0.5, "tests/unit/slow/*": 3.0}
    )
    assert limit_for(case("tests/unit/slow/test_a.py::t", 1), budget) == (
        "durations.paths:tests/unit/slow/*",
        3.0,
    )
    assert limit_for(case("tests/unit/test_a.py::t", 1), budget) == (
        "durations.paths:tests/unit/**",
        0.5,
    )
    assert limit_for(case("tests/test_a.py::t", 1), budget) == ("durations.paths:tests/**", 1.0)
    assert limit_for(case("other/test_a.py::t", 1), budget) == ("durations.max_test", 2.0)
    assert limit_for(case("other/test_a.py::t", 1), DurationsBudget()) is None


def test_per_test_limits_list_slow_tests_with_annotations() -> None:
    budget = DurationsBudget(max_test=1.0, paths={"tests/unit/**": 0.5})
    reports = [
        report(
            "reports/junit/unit.xml",
            case("tests/unit/test_a.py::test_fast", 0.1),
            case("tests/unit/test_a.py::test_slow", 0.75),
            case("tests/integration/test_b.py::test_ok", 0.9),
        )
    ]
    results = {r.id: r for r in check_test_limits(reports, budget, line_of=lambda _: 7)}
    unit = results["durations.paths:tests/unit/**"]
    assert unit.status is Status.FAIL
    assert (unit.actual, unit.limit) == (0.75, 0.5)
    assert "1 test over the 0.5 s limit for tests/unit/**" in unit.message
    assert unit.details == ("tests/unit/test_a.py::test_slow: 0.75 s",)
    [note] = unit.annotations
    assert (note.file, note.line) == ("tests/unit/test_a.py", 7)
    assert "took 0.75 s" in note.message
    glob = results["durations.max_test"]
    assert glob.status is Status.PASS
    assert glob.actual == 0.9
    assert "slowest of 1 test: 0.90 s (limit 1 s per test)" in glob.message


def test_no_limits_no_checks() -> None:
    assert check_test_limits([report("u.xml", case("a::b", 9))], DurationsBudget()) == []


def test_sessions_aggregate_shards_and_missing_session_fails() -> None:
    reports = [
        report("reports/junit/unit-1.xml", case("a::x", 1), time=3.0),
        report("reports/junit/unit-2.xml", case("a::y", 1), time=2.5),
        report("reports/junit/integration.xml", case("b::z", 4)),
    ]
    results = {r.id: r for r in check_sessions(reports, {"unit": 5, "integration": 10, "e2e": 60})}
    unit = results["durations.max_session:unit"]
    assert unit.status is Status.FAIL
    assert unit.actual == 5.5
    assert "session unit took 5.50 s over 2 shards (2 tests), over its 5 s budget" in unit.message
    assert results["durations.max_session:integration"].status is Status.PASS
    assert results["durations.max_session:integration"].actual == 4.0
    e2e = results["durations.max_session:e2e"]
    assert e2e.status is Status.FAIL
    assert "no JUnit file for session 'e2e'" in e2e.message


def test_regressions_over_factor_above_floor() -> None:
    current = {"a": 0.5, "b": 0.05, "c": 1.0, "new": 9.0}
    base = {"a": 0.2, "b": 0.01, "c": 0.9, "gone": 1.0}
    result = check_regressions(current, base, 1.5, 0.1)
    assert result.status is Status.FAIL
    assert result.actual == 2.5
    assert result.details == ("a: 0.20 s -> 0.50 s (2.5x)",)  # b is under the floor
    ok = check_regressions(current, base, 3.0, 0.1)
    assert ok.status is Status.PASS
    assert ok.actual == 2.5
    assert "3 compared with the baseline" in ok.message
    assert check_regressions(current, None, 1.5, 0.1).status is Status.WARN


def test_per_test_averages_repetitions() -> None:
    reports = [report("u.xml", case("t::a", 1.0), case("t::a", 3.0), case("t::b", 1.0))]
    assert per_test(reports) == {"t::a": 2.0, "t::b": 1.0}


@pytest.mark.parametrize(
    ("durations", "workers", "expected"),
    [
        ([], 4, 0.0),
        ([5, 4, 3, 3, 3], 1, 18.0),
        ([5, 4, 3, 3, 3], 2, 10.0),  # LPT's greedy answer (the optimum, 9, is NP-hard)
        ([7, 1, 1, 1], 8, 7.0),
    ],
)
def test_lpt(durations: list[float], workers: int, expected: float) -> None:
    assert lpt(durations, workers) == expected


def test_summary_and_check_durations() -> None:
    reports = [report("reports/junit/unit.xml", case("t::a", 3.0), case("t::b", 1.0))]
    summary = summarize(reports, slowest=1, workers=2)
    assert summary.tests == 2
    assert summary.total == 4.0
    assert summary.projected == 3.0
    assert [(s.id, s.share) for s in summary.slowest] == [("t::a", 0.75)]
    assert summary.sessions == {"unit": (4.0, 2, ("reports/junit/unit.xml",))}
    budget = DurationsBudget(max_test=5, max_session={"unit": 10}, max_regression=2.0)
    results = check_durations(reports, budget, {"t::a": 1.0})
    assert [r.id for r in results] == [
        "durations.max_test",
        "durations.max_session:unit",
        "durations.regression",
    ]
    assert [r.status for r in results] == [Status.PASS, Status.PASS, Status.FAIL]


def test_regressions_with_a_baseline_lacking_durations_fail() -> None:
    result = check_regressions({"a": 1.0}, None, 1.5, 0.1, given="old/gate.json")
    assert result.status is Status.FAIL
    assert "baseline old/gate.json has no test durations" in result.message


def test_tests_outside_every_glob_without_max_test_are_not_judged() -> None:
    budget = DurationsBudget(paths={"tests/unit/**": 0.5})
    reports = [report("u.xml", case("tests/unit/a.py::t", 0.1), case("tests/e2e/b.py::t", 60))]
    [result] = check_test_limits(reports, budget)
    assert (result.id, result.status, result.actual) == (
        "durations.paths:tests/unit/**",
        Status.PASS,
        0.1,
    )
