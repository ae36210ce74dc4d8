from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from testgate.checks import CheckResult, GateResult, Status
from testgate.errors import InputError
from testgate.history import record_run, store
from testgate.history.record import Provenance, provenance
from testgate.model import Attempt, Case, CoverageData, FileCoverage, JUnitReport, Outcome

HERE = Provenance("c1", "main", None)


def _report(*cases: Case, path: str = "reports/junit/unit.xml") -> JUnitReport:
    return JUnitReport(path=path, cases=tuple(cases))


def _case(
    node: str,
    outcome: Outcome = Outcome.PASSED,
    duration: float = 0.01,
    attempts: tuple[Attempt, ...] = (),
) -> Case:
    return Case(node, node.rpartition("::")[2], outcome, duration, attempts=attempts)


def _record(db: Path, *cases: Case, origin: Provenance = HERE, **kw: object) -> int:
    return record_run(
        db,
        result=GateResult((CheckResult("tests.min_count", Status.PASS, "ok", 3, 1),)),
        reports=[_report(*cases)],
        coverage=None,
        root=db.parent,
        origin=origin,
        **kw,  # type: ignore[arg-type]
    )


def test_new_database_is_at_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    db = store.connect(tmp_path / "deep" / "history.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION == 3
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == store.BUSY_TIMEOUT_MS


def test_a_version_1_history_migrates_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    old = sqlite3.connect(path)
    store.MIGRATIONS[0](old)
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO runs (time, kind, passed, tests, failed, skipped, flaky, seconds)"
        " VALUES ('2026-01-01T00:00:00Z', 'gate', 1, 3, 0, 0, 0, 1.5)"
    )
    old.commit()
    old.close()
    db = store.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM hunt_tests").fetchone()[0] == 0
    # v3: the old run has no machine fingerprint, so it is never a duration sample
    assert db.execute("SELECT fingerprint FROM runs").fetchall() == [(None,)]
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_a_newer_schema_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(InputError, match=r"newer than this testgate understands.*upgrade"):
        store.connect(path)


def test_another_sqlite_database_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE mine (x)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="not a testgate history"):
        store.connect(path)


def test_a_file_that_is_not_sqlite_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"this is not a database, just text that is long enough" * 40)
    with pytest.raises(InputError, match=r"history\.sqlite: not a testgate history database"):
        store.connect(path)


def test_missing_history_is_an_input_error_when_not_creating(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no run history yet"):
        store.connect(tmp_path / "none.sqlite", create=False)


def test_record_run_stores_run_tests_attempts_checks_and_files(tmp_path: Path) -> None:
    db_path = tmp_path / "h.sqlite"
    coverage = CoverageData(
        {
            "src/a.py": FileCoverage(
                "src/a.py", 10, (3, 4), branches=4, missing_branches=((1, 2),)
            ),
            "src/b.py": FileCoverage("src/b.py", 5),
        },
        has_branches=True,
    )
    run_id = record_run(
        db_path,
        result=GateResult(
            (
                CheckResult("coverage.total", Status.FAIL, "low", 85.71, 90.0),
                CheckResult("inputs.junit", Status.PASS, "ok"),
            )
        ),
        reports=[
            _report(
                _case("t.py::a", duration=0.5),
                _case("t.py::b", Outcome.ERROR),
                _case("t.py::c", Outcome.SKIPPED),
                # Surefire: failed once, passed on the rerun.
                _case("t.py::d", attempts=(Attempt("flakyFailure", "boom", duration=0.2),)),
            ),
            # the same node id again (a repetition) gets the next attempt number
            _report(_case("t.py::a", Outcome.FAILED), path="reports/junit/unit-2.xml"),
        ],
        coverage=coverage,
        root=tmp_path,
        origin=Provenance("abc", "feature/x", "42"),
        time="2026-11-21T10:00:00Z",
    )
    db = store.connect(db_path)
    run = store.run_from_row(
        db.execute(f"SELECT {store.RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()  # noqa: S608 - constant
    )
    assert (run.commit, run.branch, run.ci_job, run.kind, run.passed) == (
        "abc", "feature/x", "42", "gate", False,
    )  # fmt: skip
    assert (run.tests, run.failed, run.skipped, run.flaky) == (5, 2, 1, 2)
    assert run.coverage == pytest.approx(100 * (8 + 5 + 3) / 19)
    assert run.branch_coverage == pytest.approx(75.0)
    assert run.seconds == pytest.approx(0.5 + 0.01 * 4)
    rows = db.execute(
        "SELECT t.node_id, r.attempt, r.outcome, r.duration FROM results r"
        " JOIN tests t ON t.id = r.test_id ORDER BY t.node_id, r.attempt"
    ).fetchall()
    assert rows == [
        ("t.py::a", 1, 0, 0.5),
        ("t.py::a", 2, 1, 0.01),
        ("t.py::b", 1, 2, 0.01),
        ("t.py::c", 1, 3, 0.01),
        ("t.py::d", 1, 1, 0.2),
        ("t.py::d", 2, 0, 0.01),
    ]
    assert db.execute(
        "SELECT check_id, status, actual, limit_value FROM checks ORDER BY check_id"
    ).fetchall() == [
        ("coverage.total", "fail", "85.71", "90.0"),
        ("inputs.junit", "pass", None, None),
    ]
    assert db.execute(
        "SELECT f.path, c.statements, c.missing, c.branches, c.missing_branches"
        " FROM file_coverage c JOIN files f ON f.id = c.file_id ORDER BY f.path"
    ).fetchall() == [("src/a.py", 10, 2, 4, 1), ("src/b.py", 5, 0, 0, 0)]


def test_a_run_with_no_reports_is_recorded_as_empty(tmp_path: Path) -> None:
    db_path = tmp_path / "h.sqlite"
    run_id = record_run(
        db_path, result=GateResult(()), reports=[], coverage=None, root=tmp_path, origin=HERE
    )
    row = store.connect(db_path).execute("SELECT tests, seconds FROM runs WHERE id = ?", (run_id,))
    assert row.fetchone() == (0, 0.0)


def test_test_names_are_interned_once(tmp_path: Path) -> None:
    db_path = tmp_path / "h.sqlite"
    for _ in range(3):
        _record(db_path, _case("t.py::a"), _case("t.py::b"))
    db = store.connect(db_path)
    assert db.execute("SELECT count(*) FROM tests").fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM results").fetchone()[0] == 6


def test_keep_prunes_old_runs_and_names_nobody_uses(tmp_path: Path) -> None:
    db_path = tmp_path / "h.sqlite"
    _record(db_path, _case("t.py::gone"))
    ids = [_record(db_path, _case(f"t.py::n{i}"), keep=2) for i in range(3)]
    db = store.connect(db_path)
    assert [r[0] for r in db.execute("SELECT id FROM runs ORDER BY id")] == ids[1:]
    assert db.execute("SELECT count(*) FROM results").fetchone()[0] == 2
    # names of pruned runs stay until an explicit prune (a scan of every result)
    assert db.execute("SELECT count(*) FROM tests").fetchone()[0] == 4
    with store.transaction(db):
        assert store.prune(db, 1) == 1
    assert {r[0] for r in db.execute("SELECT node_id FROM tests")} == {"t.py::n2"}
    with store.transaction(db):
        assert store.prune(db, 5) == 0


def test_prune_of_an_empty_history_deletes_nothing(tmp_path: Path) -> None:
    db = store.connect(tmp_path / "h.sqlite")
    assert store.prune(db, 1) == 0


def test_a_failed_transaction_rolls_back(tmp_path: Path) -> None:
    db = store.connect(tmp_path / "h.sqlite")

    def half_a_run() -> None:
        with store.transaction(db):
            db.execute(
                "INSERT INTO runs (time, kind, passed, tests, failed, skipped, flaky, seconds)"
                " VALUES ('t', 'gate', 1, 0, 0, 0, 0, 0)"
            )
            db.execute("INSERT INTO results VALUES (1, 7, 1, 0, 0.1)")
            db.execute("INSERT INTO results VALUES (1, 7, 1, 1, 0.2)")  # the same attempt

    with pytest.raises(sqlite3.IntegrityError):
        half_a_run()
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_ci_variables_name_branch_commit_and_job(tmp_path: Path) -> None:
    env = {
        "GITHUB_HEAD_REF": "feature/pr",
        "GITHUB_REF_NAME": "12/merge",
        "GITHUB_SHA": "f00d",
        "GITHUB_RUN_ID": "777",
        "GITHUB_RUN_ATTEMPT": "2",
    }
    assert provenance(tmp_path, env) == Provenance("f00d", "feature/pr", "777.2")
    gitlab = {"CI_COMMIT_REF_NAME": "main", "CI_COMMIT_SHA": "beef", "CI_JOB_ID": "5"}
    assert provenance(tmp_path, gitlab) == Provenance("beef", "main", "5")
    assert provenance(tmp_path, {"GITHUB_HEAD_REF": "", "GITHUB_REF_NAME": "main"}).branch == "main"


def test_outside_git_and_ci_nothing_is_invented(tmp_path: Path) -> None:
    where = tmp_path / "nogit"
    where.mkdir()
    assert provenance(where, {}) == Provenance(None, None, None)


def test_a_big_run_interns_its_names_in_one_pass(tmp_path: Path) -> None:
    db_path = tmp_path / "h.sqlite"
    first = [_case(f"t.py::test_{i}") for i in range(2500)]
    _record(db_path, *first)
    _record(db_path, *first[:2400], *[_case(f"t.py::new_{i}") for i in range(200)])
    db = store.connect(db_path)
    assert db.execute("SELECT count(*) FROM tests").fetchone()[0] == 2700
    assert db.execute("SELECT count(DISTINCT test_id) FROM results").fetchone()[0] == 2700
    assert db.execute("SELECT count(*) FROM results WHERE run_id = 2").fetchone()[0] == 2600


def test_an_unusable_location_is_a_one_line_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match=r"file/history\.sqlite: cannot use the run history"):
        _record(blocker / "history.sqlite", _case("t.py::a"))
    folder = tmp_path / "folder.sqlite"
    folder.mkdir()
    with pytest.raises(InputError, match=r"folder\.sqlite: cannot use the run history \(unable"):
        store.connect(folder)
