from __future__ import annotations

from pathlib import Path

import pytest

from testgate.checks import GateResult, Status
from testgate.errors import InputError
from testgate.history import record_run
from testgate.history.checks import history_checks
from testgate.history.record import Provenance
from testgate.model import Case, CoverageData, FileCoverage, JUnitReport, Outcome

P, F = Outcome.PASSED, Outcome.FAILED


def _run(db: Path, missing: int, slow: float, flaky: Outcome, commit: str) -> None:
    cases = (
        Case("t.py::slow", "slow", P, slow),
        Case("t.py::flaky", "flaky", flaky, 0.01),
        *(Case(f"t.py::f{i}", "f", P, 0.01) for i in range(3)),
    )
    record_run(
        db,
        result=GateResult(()),
        reports=[JUnitReport("j.xml", cases)],
        coverage=CoverageData({"a.py": FileCoverage("a.py", 100, tuple(range(missing)))}),
        root=db.parent,
        origin=Provenance(commit, "main", None),
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite"
    _run(path, 0, 0.2, F, "c1")
    _run(path, 1, 0.2, P, "c1")
    _run(path, 4, 0.2, P, "c2")
    _run(path, 6, 0.9, P, "c3")
    return path


def test_only_the_checks_asked_for_run(db: Path) -> None:
    assert history_checks(db) == []


def test_each_check_fails_beyond_its_limit(db: Path) -> None:
    drop, slow, flaky = history_checks(db, max_drop=5, max_regression=2.0, max_flaky=0)
    assert (drop.id, drop.status, drop.actual, drop.limit) == (
        "history.coverage_drop", Status.FAIL, 6.0, 5,
    )  # fmt: skip
    assert drop.message == (
        "total coverage dropped 6.00 points over the last 4 runs (100.00% -> 94.00%), "
        "more than the allowed 5"
    )
    assert (slow.id, slow.status, slow.actual) == ("history.duration_regressions", Status.FAIL, 1)
    assert slow.message.endswith("worst t.py::slow: 0.900s is 4.5x its 0.200s")
    assert slow.details == ("t.py::slow: 0.900s is 4.5x its median 0.200s",)
    assert (flaky.id, flaky.status, flaky.actual, flaky.limit) == (
        "history.flaky",
        Status.FAIL,
        1,
        0,
    )
    assert flaky.details == ("t.py::flaky: flaked in 1 of 4 runs",)


def test_each_check_passes_within_its_limit(db: Path) -> None:
    drop, slow, flaky = history_checks(
        db, max_drop=6, max_regression=5.0, max_flaky=0, quarantined={"t.py::flaky"}
    )
    assert [c.status for c in (drop, slow, flaky)] == [Status.PASS] * 3
    assert drop.message == (
        "total coverage changed -6.00 points over the last 4 runs (100.00% -> 94.00%), within 6"
    )
    assert slow.message == "no test is more than 5x slower than its median over earlier runs"
    assert flaky.message == "0 flaky tests in the last 4 runs (at most 0)"


def test_a_drop_needs_two_runs_and_a_history_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    _run(path, 0, 0.1, P, "c1")
    (drop,) = history_checks(path, max_drop=1, branch="main")
    assert (drop.status, drop.actual) == (Status.PASS, None)
    assert "fewer than 2 runs" in drop.message
    with pytest.raises(InputError, match="no run history yet"):
        history_checks(tmp_path / "none.sqlite", max_drop=1)
