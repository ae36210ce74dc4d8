from __future__ import annotations

from pathlib import Path

import pytest

from testgate.checks import CheckResult, GateResult, Status
from testgate.checks.history import coverage_drop_check
from testgate.history import queries, record_run, store
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


def _drop(path: Path, max_drop: float, branch: str | None = None) -> CheckResult:
    db = store.connect(path, create=False)
    try:
        return coverage_drop_check(queries.coverage_trend(db, branch=branch), max_drop)
    finally:
        db.close()


def test_a_drop_beyond_the_limit_fails(db: Path) -> None:
    drop = _drop(db, 5)
    assert (drop.id, drop.status, drop.actual, drop.limit) == (
        "history.coverage_drop", Status.FAIL, 6.0, 5,
    )  # fmt: skip
    assert drop.message == (
        "total coverage dropped 6.00 points over the last 4 runs (100.00% -> 94.00%), "
        "more than the allowed 5"
    )


def test_a_drop_within_the_limit_passes(db: Path) -> None:
    drop = _drop(db, 6)
    assert drop.status is Status.PASS
    assert drop.message == (
        "total coverage changed -6.00 points over the last 4 runs (100.00% -> 94.00%), within 6"
    )


def test_a_drop_needs_two_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    _run(path, 0, 0.1, P, "c1")
    drop = _drop(path, 1, branch="main")
    assert (drop.status, drop.actual) == (Status.PASS, None)
    assert "fewer than 2 runs" in drop.message
