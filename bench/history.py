"""History at scale: append a 50,000-test run to 100 such runs, then ask trend and flakiness.

    python bench/history.py [--tests 50000] [--runs 100] [--rounds 5]

Goal: each append and each query < 1 s; prints the database size per 1,000 test results.
The 100-run history is made by one real `record_run` and SQL copies of it (with failures
spread so that the flakiness query has same-commit flakes to find), which is what 100 gate
runs would leave behind, without waiting for 100 appends.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import compare

from testgate.checks import CheckResult, GateResult, Status
from testgate.history import queries, record_run, store
from testgate.history.record import Provenance
from testgate.model import Case, CoverageData, FileCoverage, JUnitReport, Outcome

FILES = 500


def _report(tests: int, seed: int) -> JUnitReport:
    cases = tuple(
        Case(
            f"tests/pkg{i % 50}/test_mod{i % 500}.py::TestThing::test_case_{i}[param-{i % 7}]",
            f"test_case_{i}",
            Outcome.FAILED if (i * 31 + seed) % 997 == 0 else Outcome.PASSED,
            0.001 + (i % 100) / 1000,
        )
        for i in range(tests)
    )
    return JUnitReport("reports/junit/unit.xml", cases, time=60.0)


def _coverage() -> CoverageData:
    return CoverageData(
        {
            f"src/pkg{i % 20}/mod{i}.py": FileCoverage(
                f"src/pkg{i % 20}/mod{i}.py", 200, tuple(range(i % 30)), branches=40
            )
            for i in range(FILES)
        }
    )


RESULT = GateResult((CheckResult("coverage.total", Status.PASS, "ok", 91.2, 80.0),))


def build(db_path: Path, tests: int, runs: int) -> None:
    record_run(
        db_path, result=RESULT, reports=[_report(tests, 0)], coverage=_coverage(),
        root=db_path.parent, origin=Provenance("c0", "main", None),
    )  # fmt: skip
    db = store.connect(db_path)
    with store.transaction(db):
        for n in range(2, runs + 1):
            db.execute(
                "INSERT INTO runs (id, time, commit_sha, branch, kind, passed, tests, failed,"
                " skipped, flaky, coverage, seconds) SELECT ?, time, ?, branch, kind, passed,"
                " tests, failed, skipped, flaky, coverage - ? * 0.01, seconds FROM runs"
                " WHERE id = 1",
                (n, f"c{n // 2}", n),
            )
            # 1 test in 1,000 is flaky (fails in about 1 run of 7, not in both runs of a
            # commit), 1 in 10,000 always fails: 55 failing tests for the queries to sort out
            db.execute(
                "INSERT INTO results (run_id, test_id, attempt, outcome, duration)"
                " SELECT ?, test_id, attempt, CASE"
                "  WHEN test_id % 1000 = 0 AND (test_id / 1000 + ?) % 7 = 0 THEN 1"
                "  WHEN test_id % 10000 = 1 THEN 1 ELSE 0 END,"
                " duration * (1 + ((test_id + ?) % 10) / 100.0) FROM results WHERE run_id = 1",
                (n, n, n),
            )
            db.execute(
                "INSERT INTO file_coverage SELECT ?, file_id, statements, missing, branches,"
                " missing_branches FROM file_coverage WHERE run_id = 1",
                (n,),
            )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        db_path = work / "history.sqlite"
        started = time.perf_counter()
        build(db_path, args.tests, args.runs)
        print(f"built {args.runs} runs x {args.tests} tests in "
              f"{time.perf_counter() - started:.1f}s")  # fmt: skip

        db = store.connect(db_path)
        results = db.execute("SELECT count(*) FROM results").fetchone()[0]
        db.execute("VACUUM")
        size = db_path.stat().st_size
        print(f"database: {size / 1e6:.1f} MB for {results} test results = "
              f"{size / results * 1000 / 1024:.1f} KiB per 1,000 test results "
              f"({size / results:.1f} bytes each, indexes included)")  # fmt: skip

        report = _report(args.tests, 1)
        coverage = _coverage()
        bare = sqlite3.connect(work / "bare.sqlite", isolation_level=None)
        bare.execute("PRAGMA journal_mode = WAL")
        bare.execute("CREATE TABLE r (run INTEGER, node TEXT, outcome TEXT, duration REAL)")
        counter = iter(range(10**9))

        def bare_insert() -> None:
            n = next(counter)
            bare.execute("BEGIN")
            bare.executemany(
                "INSERT INTO r VALUES (?, ?, ?, ?)",
                ((n, c.node_id, c.outcome.value, c.duration) for c in report.cases),
            )
            bare.execute("COMMIT")

        def append() -> None:
            record_run(db_path, result=RESULT, reports=[report], coverage=coverage,
                       root=work, origin=Provenance("new", "main", None))  # fmt: skip

        def append_keep() -> None:
            record_run(db_path, result=RESULT, reports=[report], coverage=coverage, root=work,
                       origin=Provenance("new", "main", None), keep=args.runs)  # fmt: skip

        print(f"\nappend one run of {args.tests} tests (+{FILES} files) to {args.runs} runs:")
        append_medians = compare(
            {
                "bare executemany (floor)": bare_insert,
                "record_run": append,
                f"record_run keep={args.runs}": append_keep,
            },
            reference="bare executemany (floor)",
            rounds=args.rounds,
        )

        window = args.runs

        print(f"\nqueries over the last {window} runs:")
        query_medians = compare(
            {
                "runs list": lambda: queries.runs(db, last=window),
                "trend total": lambda: queries.coverage_trend(db, last=window),
                "trend module glob": lambda: queries.coverage_trend(
                    db, module="src/pkg1*/**", last=window
                ),
                "flaky frequency": lambda: queries.flaky_tests(db, last=window),
                "duration regressions (5+1)": lambda: queries.duration_regressions(db),
                "baseline history:main": lambda: queries.baseline(db, "main"),
            },
            reference="trend total",
            rounds=args.rounds,
        )
        flaky = queries.flaky_tests(db, last=window)
        print(f"\nflaky frequency found {len(flaky.tests)} flaky tests in {len(flaky.window)} runs")
        slowest = max({**append_medians, **query_medians}.items(), key=lambda kv: kv[1])
        verdict = "met" if slowest[1] < 1.0 else "MISSED"
        print(f"goal < 1 s each: {verdict} (slowest: {slowest[0]} {slowest[1]:.3f}s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
