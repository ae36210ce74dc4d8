from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

import pytest

from testgate._glob import glob_regex
from testgate.checks import GateResult
from testgate.errors import InputError, UsageError
from testgate.history import newest_run, queries, record_flaky, record_run, store
from testgate.history.record import Provenance
from testgate.model import Case, CoverageData, FileCoverage, JUnitReport, Outcome
from testgate.model.flaky import FlakyReport
from testgate.model.history import FlakyHistory, Regression, coverage_drop

P, F, S = Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED


def _run(
    db: Path,
    outcomes: Mapping[str, Outcome | tuple[Outcome, float]],
    *,
    commit: str = "c1",
    branch: str = "main",
    covered: Mapping[str, tuple[int, int]] | None = None,
    kind: str = "gate",
) -> int:
    cases = []
    for node, value in outcomes.items():
        outcome, seconds = value if isinstance(value, tuple) else (value, 0.01)
        cases.append(Case(node, node, outcome, seconds))
    coverage = (
        CoverageData({p: FileCoverage(p, s, tuple(range(m))) for p, (s, m) in covered.items()})
        if covered is not None
        else None
    )
    return record_run(
        db,
        result=GateResult(()),
        reports=[JUnitReport("reports/junit/unit.xml", tuple(cases))],
        coverage=coverage,
        root=db.parent,
        kind=kind,
        origin=Provenance(commit, branch, None),
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite"


def _open(path: Path) -> sqlite3.Connection:
    return store.connect(path, create=False)


def test_glob_stays_in_a_folder_unless_doubled() -> None:
    assert glob_regex("src/pkg/*").match("src/pkg/a.py")
    assert not glob_regex("src/pkg/*").match("src/pkg/sub/a.py")
    assert glob_regex("src/**").match("src/pkg/sub/a.py")
    assert glob_regex("src/**/a.py").match("src/a.py")
    assert glob_regex("src/?.py").match("src/a.py")
    assert not glob_regex("src/?.py").match("src/ab.py")
    assert not glob_regex("src/a.py").match("src/a.pyc")


def test_trend_overall_and_per_module_with_drop(db_path: Path) -> None:
    for core_missing in (0, 2, 5):
        _run(
            db_path,
            {"t.py::a": P},
            covered={"src/core/a.py": (10, core_missing), "src/ui/b.py": (10, 5)},
        )
    db = _open(db_path)
    total = queries.coverage_trend(db)
    assert [round(p.percent, 2) for p in total] == [75.0, 65.0, 50.0]
    core = queries.coverage_trend(db, module="src/core/*")
    assert [p.percent for p in core] == [100.0, 80.0, 50.0]
    assert core[0].statements == 10
    drop = coverage_drop(core)
    assert drop is not None
    assert drop.points == 50.0
    last_two = queries.coverage_trend(db, module="src/core/*", last=2)
    drop = coverage_drop(last_two)
    assert drop is not None
    assert drop.points == 30.0
    assert coverage_drop(last_two[:1]) is None
    assert queries.coverage_trend(db, module="nowhere/*") == []


def test_trend_skips_runs_without_coverage_and_of_other_branches(db_path: Path) -> None:
    _run(db_path, {"t.py::a": P}, covered={"a.py": (4, 1)})
    _run(db_path, {"t.py::a": P})
    _run(db_path, {"t.py::a": P}, covered={"a.py": (4, 0)}, branch="dev")
    db = _open(db_path)
    assert [p.percent for p in queries.coverage_trend(db, branch="main")] == [75.0]
    assert [p.percent for p in queries.coverage_trend(db, module="a.py", branch="main")] == [75.0]
    assert queries.coverage_trend(db, module="a.py", branch="none") == []


def test_module_trend_starts_where_the_module_first_has_data(db_path: Path) -> None:
    """A module added in the second run has no point for the first: not a 0% point."""
    _run(db_path, {"t.py::a": P}, covered={"src/a.py": (4, 0)})
    _run(db_path, {"t.py::a": P}, covered={"src/a.py": (4, 0), "src/new.py": (10, 5)})
    trend = queries.coverage_trend(_open(db_path), module="src/new.py")
    assert [(p.run.id, p.percent, p.statements) for p in trend] == [(2, 50.0, 10)]


def test_duration_regression_is_judged_on_the_median(db_path: Path) -> None:
    # one noisy earlier run (5 s) does not hide the regression; the median is 0.2 s
    for seconds in (0.2, 5.0, 0.2, 0.21, 0.19):
        _run(db_path, {"t.py::slow": (P, seconds), "t.py::fast": (P, 0.01)})
    _run(db_path, {"t.py::slow": (P, 0.9), "t.py::fast": (P, 0.05)})
    db = _open(db_path)
    found = queries.duration_regressions(db, last=5)
    assert [(r.node_id, r.baseline, r.current, r.runs) for r in found] == [
        ("t.py::slow", 0.2, 0.9, 5)
    ]
    assert found[0].factor == pytest.approx(4.5)
    # fast went 0.01 -> 0.05 (5x) but stays under the 0.1 s floor
    assert [r.node_id for r in queries.duration_regressions(db, floor=0.01)] == [
        "t.py::fast",
        "t.py::slow",
    ]
    assert queries.duration_regressions(db, factor=5) == []


def test_one_slow_run_is_not_a_regression_when_judging_recent_medians(db_path: Path) -> None:
    for seconds in (0.2, 0.2, 0.2, 0.2, 3.0, 0.2, 0.2):
        _run(db_path, {"t.py::a": (P, seconds)})
    db = _open(db_path)
    assert queries.duration_regressions(db, last=4, recent=3) == []
    assert queries.duration_regressions(db, last=1, recent=1) == []


def test_no_regression_without_enough_history(db_path: Path) -> None:
    _run(db_path, {"t.py::a": (P, 1.0)})
    _run(db_path, {"t.py::b": (P, 1.0)})  # a new test has no baseline
    db = _open(db_path)
    assert queries.duration_regressions(db, last=5, recent=2) == []
    assert queries.duration_regressions(db) == []
    assert Regression("x", 0.0, 1.0, 1).factor == float("inf")


def test_failed_and_passed_on_the_same_commit_is_flaky(db_path: Path) -> None:
    _run(db_path, {"t.py::a": F, "t.py::real": F, "t.py::ok": P}, commit="c1")
    _run(db_path, {"t.py::a": P, "t.py::real": F, "t.py::ok": P}, commit="c1")
    _run(db_path, {"t.py::a": P, "t.py::real": P, "t.py::ok": P}, commit="c2")
    report = queries.flaky_tests(_open(db_path))
    assert [(t.node_id, t.flaked, t.runs, t.commits) for t in report.tests] == [
        ("t.py::a", 1, 3, ("c1",))
    ]
    stat = report.tests[0]
    assert (stat.active, stat.clean_since) == (True, 2)
    assert stat.rate == pytest.approx(1 / 3)
    assert report.per_run == {1: 1, 2: 0, 3: 0}
    assert report.active == report.tests


def test_a_failure_without_a_commit_is_never_cross_run_flaky(db_path: Path) -> None:
    record = {"root": db_path.parent, "result": GateResult(()), "coverage": None}
    for outcome in (F, P):
        record_run(
            db_path,
            reports=[JUnitReport("j.xml", (Case("t.py::a", "a", outcome),))],
            origin=Provenance(None, None, None),
            **record,  # type: ignore[arg-type]
        )
    assert queries.flaky_tests(_open(db_path)).tests == ()


def test_passing_and_failing_within_one_run_is_flaky(db_path: Path) -> None:
    record_run(
        db_path,
        result=GateResult(()),
        reports=[
            JUnitReport("a.xml", (Case("t.py::r", "r", P), Case("t.py::x", "x", P))),
            JUnitReport("b.xml", (Case("t.py::r", "r", F), Case("t.py::x", "x", P))),
        ],
        coverage=None,
        root=db_path.parent,
        origin=Provenance(None, "main", None),
    )
    report = queries.flaky_tests(_open(db_path))
    assert [(t.node_id, t.flaked) for t in report.tests] == [("t.py::r", 1)]


def test_a_skipped_run_neither_passes_nor_fails_a_flaky_test(db_path: Path) -> None:
    filler = {f"t.py::f{i}": P for i in range(4)}
    _run(db_path, {"t.py::a": F, **filler}, commit="c1")
    _run(db_path, {"t.py::a": S, **filler}, commit="c1")
    _run(db_path, {"t.py::a": P, **filler}, commit="c1")
    (stat,) = queries.flaky_tests(_open(db_path)).tests
    assert (stat.node_id, stat.flaked, stat.runs, stat.clean_since) == ("t.py::a", 1, 2, 1)


def test_the_flaky_label_clears_after_k_clean_runs(db_path: Path) -> None:
    filler = {f"t.py::f{i}": P for i in range(4)}  # one failure in five is no infra failure
    _run(db_path, {"t.py::a": F, **filler}, commit="c1")
    _run(db_path, {"t.py::a": P, **filler}, commit="c1")
    for n in range(3):
        _run(db_path, {"t.py::a": P, **filler}, commit=f"d{n}")
    db = _open(db_path)
    assert queries.flaky_tests(db, clear_after=5).tests[0].active
    cleared = queries.flaky_tests(db, clear_after=4).tests[0]
    assert (cleared.active, cleared.clean_since) == (False, 4)
    assert queries.flaky_tests(db, clear_after=4).active == ()


def test_infrastructure_failures_are_ignored(db_path: Path) -> None:
    tests = {f"t.py::t{i}": P for i in range(10)}
    _run(db_path, tests, commit="c1", covered={"a.py": (10, 0)})
    # 9 of 10 failed: the machine broke, not the tests
    broken = {k: (F if i < 9 else P) for i, k in enumerate(tests)}
    infra = _run(db_path, broken, commit="c1", covered={"a.py": (10, 9)})
    db = _open(db_path)
    assert queries.flaky_tests(db).tests == ()
    assert [p.percent for p in queries.coverage_trend(db)] == [100.0]
    assert infra not in [r.id for r in queries.runs(db)]
    listed = queries.runs(db, include_infra=True)
    assert [r.infrastructure_failure for r in listed] == [False, True]
    # exactly 80% failed is still a real run
    eight = {k: (F if i < 8 else P) for i, k in enumerate(tests)}
    _run(db_path, eight, commit="c1")
    assert {t.node_id for t in queries.flaky_tests(db).tests} == {f"t.py::t{i}" for i in range(8)}


def test_flaky_frequency_is_ranked(db_path: Path) -> None:
    pattern = [
        {"t.py::often": F, "t.py::once": P, "t.py::never": P},
        {"t.py::often": P, "t.py::once": F, "t.py::never": P},
        {"t.py::often": F, "t.py::once": P, "t.py::never": P},
        {"t.py::often": F, "t.py::once": P, "t.py::never": P},
    ]
    for outcomes in pattern:
        _run(db_path, outcomes, commit="same")
    db = _open(db_path)
    ranked = queries.flaky_tests(db).tests
    assert [(t.node_id, t.flaked) for t in ranked] == [("t.py::often", 3), ("t.py::once", 1)]
    # only the last 2 runs: `once` is out of the window; `often` passed on this commit before
    assert [(t.node_id, t.flaked) for t in queries.flaky_tests(db, last=2).tests] == [
        ("t.py::often", 2)
    ]
    assert queries.flaky_tests(db, branch="nope") == FlakyHistory((), ())


def test_flake_hunt_is_recorded_with_kind_and_repro(db_path: Path, tmp_path: Path) -> None:
    junit = tmp_path / "reports" / "flaky"
    junit.mkdir(parents=True)
    for n, outcome in ((1, "<failure message='x'/>"), (2, "")):
        (junit / f"run-0{n}.xml").write_text(
            "<testsuites><testsuite>"
            f"<testcase classname='tests.test_a' name='test_v' time='0.5'>{outcome}</testcase>"
            "<testcase classname='tests.test_a' name='test_ok' time='0.1'/>"
            "</testsuite></testsuites>"
        )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    report = FlakyReport.from_json({
        "meta": {"format": 1, "count": 2},
        "runs": [
            {"iteration": 1, "seed": 1, "status": "completed", "exit_code": 1,
             "junit": "reports/flaky/run-01.xml", "seconds": 1.0},
            {"iteration": 2, "seed": 2, "status": "completed", "exit_code": 0,
             "junit": str(junit / "run-02.xml"), "seconds": 2.0},
        ],
        "tests": [
            {"id": "tests/test_a.py::test_v", "runs": 2, "passed": 1, "failed": 1,
             "verdict": "flaky", "kind": "order-dependent", "flake_rate": 0.5,
             "repro": "python -m pytest tests/test_a.py::test_v"},
            {"id": "tests/test_a.py::test_ok", "runs": 2, "passed": 2, "failed": 0,
             "verdict": "passed", "flake_rate": None},
        ],
    })  # fmt: skip
    run_id = record_flaky(db_path, report, tmp_path, origin=Provenance("h1", "main", None))
    db = _open(db_path)
    run = queries.runs(db, kinds=("flaky",))[0]
    assert (run.id, run.tests, run.flaky, run.passed, run.seconds) == (run_id, 2, 1, False, 3.0)
    durations = db.execute(
        "SELECT attempt, outcome, duration FROM results r JOIN tests t ON t.id = r.test_id"
        " WHERE t.node_id = 'tests/test_a.py::test_v' ORDER BY attempt"
    ).fetchall()
    assert durations == [(1, 1, 0.5), (2, 0, 0.5)]
    (stat,) = queries.flaky_tests(db).tests
    assert (stat.node_id, stat.kind, stat.repro) == (
        "tests/test_a.py::test_v",
        "order-dependent",
        "python -m pytest tests/test_a.py::test_v",
    )
    # a hunt is not a gate run: no baseline, no trend from it
    assert queries.coverage_trend(db) == []


def test_a_hunt_whose_junit_files_are_gone_is_recorded_from_its_counts(db_path: Path) -> None:
    report = FlakyReport.from_json(
        {
            "meta": {"format": 1},
            "runs": [{"iteration": 1, "junit": "reports/flaky/missing.xml", "seconds": 1.0}],
            "tests": [
                {"id": "t.py::a", "runs": 3, "passed": 2, "failed": 1, "verdict": "flaky"},
                {"id": "t.py::b", "runs": 3, "passed": 0, "failed": 3, "verdict": "failed"},
            ],
        }
    )
    record_flaky(db_path, report, db_path.parent, origin=Provenance("h", "main", None))
    db = _open(db_path)
    counts = db.execute(
        "SELECT t.node_id, r.outcome, count(*) FROM results r JOIN tests t ON t.id = r.test_id"
        " GROUP BY t.node_id, r.outcome ORDER BY t.node_id, r.outcome"
    ).fetchall()
    assert counts == [("t.py::a", 0, 2), ("t.py::a", 1, 1), ("t.py::b", 1, 3)]
    assert [t.node_id for t in queries.flaky_tests(db).tests] == ["t.py::a"]


def test_a_hunt_without_runs_or_junit_uses_counts_and_bad_reports_are_refused(
    db_path: Path,
) -> None:
    tests = [{"id": "t.py::a", "passed": 1, "failed": 0, "verdict": "passed"}]
    for runs in ([], [{"seconds": 1}]):
        report = FlakyReport.from_json({"meta": {"format": 1}, "runs": runs, "tests": tests})
        record_flaky(db_path, report, db_path.parent)
    assert len(queries.runs(_open(db_path), kinds=("flaky",))) == 2
    with pytest.raises(InputError, match=r"flaky\.json: tests: missing a list"):
        FlakyReport.from_json({"meta": {"format": 1}, "runs": []})


def test_baseline_is_the_newest_real_run_on_the_branch(db_path: Path) -> None:
    for seconds in (0.3, 0.1, 0.2):
        _run(db_path, {"t.py::a": (P, seconds), "t.py::s": S}, covered={"src/a.py": (10, 1)})
    newest = _run(db_path, {"t.py::a": (P, 0.2)}, covered={"src/a.py": (10, 2), "b.py": (10, 0)})
    _run(db_path, {"t.py::a": (P, 9.0)}, branch="feature", covered={"src/a.py": (10, 10)})
    base = newest_run("history:main", db_path, window=3)
    assert base.run.id == newest
    assert base.coverage == pytest.approx(90.0)
    assert base.files["src/a.py"].percent == 80.0
    assert base.module_percent("src/*") == 80.0
    assert base.module_percent("none/*") is None
    assert base.durations == {"t.py::a": 0.2}  # median of 0.1, 0.2, 0.2; skipped left out
    with pytest.raises(InputError, match="no run on branch 'release'"):
        newest_run("history:release", db_path)
    with pytest.raises(UsageError, match="expected history:BRANCH"):
        newest_run("history:", db_path)
    with pytest.raises(InputError, match="no run history yet"):
        newest_run("history:main", db_path.parent / "none.sqlite")


def test_a_recent_median_counts_every_recent_run_not_only_the_slow_ones(db_path: Path) -> None:
    for seconds in (0.2, 0.2, 0.2, 0.05, 0.05, 0.9):
        _run(db_path, {"t.py::a": (P, seconds)})
    db = _open(db_path)
    # the recent three are 0.05, 0.05, 0.9: median 0.05, under the floor
    assert queries.duration_regressions(db, last=3, recent=3) == []
    (only,) = queries.duration_regressions(db, last=3, recent=1)
    assert (only.current, only.baseline) == (0.9, 0.05)


def test_the_gate_gets_a_history_baseline_in_its_own_terms(tmp_path: Path) -> None:
    from testgate.config import load
    from testgate.history import read_baseline

    (tmp_path / "pyproject.toml").write_text('[tool.testgate]\nhistory = "h.sqlite"\n')
    db = tmp_path / "h.sqlite"
    _run(db, {"t.py::a": (P, 0.5)}, covered={"src/a.py": (10, 2)}, commit="abcdef123456")
    base = read_baseline("history:main", load(tmp_path).history_path)
    assert base.source.startswith("history:main (run 1, abcdef1234, ")
    assert base.coverage is not None
    assert (base.coverage.percent, base.coverage.files) == (80.0, {"src/a.py": (10, 2)})
    assert base.durations == {"t.py::a": 0.5}
    _run(db, {"t.py::s": S})  # the newest run has no coverage; durations span 5 runs
    newer = read_baseline("history:main", load(tmp_path).history_path)
    assert (newer.coverage, newer.durations) == (None, {"t.py::a": 0.5})
    db.unlink()
    _run(db, {"t.py::s": S})
    bare = read_baseline("history:main", load(tmp_path).history_path)
    assert (bare.coverage, bare.durations) == (None, None)
