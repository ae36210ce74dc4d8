"""Appending runs: a gate run (`record_run`) or a flake hunt (`record_flaky`)."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testgate.checks import GateResult
from testgate.checks.durations import session_stamps, sessions
from testgate.errors import InputError, TestgateError
from testgate.history import store
from testgate.model import Case, CoverageData, JUnitReport, Totals
from testgate.model.flaky import FAILED, FLAKY, SKIPPED, FlakyReport
from testgate.read.git import git_or_none
from testgate.read.junit import read_junit

# Branch names CI systems set; the first non-empty one wins (GITHUB_HEAD_REF: the PR's branch).
BRANCH_VARS = (
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
    "CI_COMMIT_REF_NAME",
    "BUILDKITE_BRANCH",
    "CIRCLE_BRANCH",
    "BITBUCKET_BRANCH",
    "BRANCH_NAME",
    "GIT_BRANCH",
)
COMMIT_VARS = ("GITHUB_SHA", "CI_COMMIT_SHA", "BUILDKITE_COMMIT", "CIRCLE_SHA1", "GIT_COMMIT")
JOB_VARS = ("GITHUB_RUN_ID", "CI_JOB_ID", "BUILDKITE_JOB_ID", "CIRCLE_WORKFLOW_JOB_ID", "BUILD_ID")


@dataclass(frozen=True)
class Provenance:
    commit: str | None
    branch: str | None
    ci_job: str | None


def _first(env: Mapping[str, str], names: Iterable[str]) -> str | None:
    for name in names:
        if env.get(name):
            return env[name]
    return None


def _in_git(root: Path) -> bool:
    """Whether git could name a commit for `root`: a `.git` there or above, or GIT_DIR set.
    Outside any work tree this spares the two git processes a recorded run would start."""
    if os.environ.get("GIT_DIR"):
        return True
    where = root.resolve()
    return any((folder / ".git").exists() for folder in (where, *where.parents))


def provenance(root: Path, env: Mapping[str, str] | None = None) -> Provenance:
    """Commit and branch from git (CI variables where git cannot tell), the CI job id if any."""
    env = os.environ if env is None else env
    in_git = _in_git(root)
    commit = (git_or_none(root, "rev-parse", "HEAD") if in_git else None) or _first(
        env, COMMIT_VARS
    )
    branch = _first(env, BRANCH_VARS)
    if branch is None and in_git:
        head = git_or_none(root, "rev-parse", "--abbrev-ref", "HEAD")
        branch = head if head != "HEAD" else None  # detached HEAD: no branch
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_RUN_ATTEMPT"):
        job: str | None = f"{env['GITHUB_RUN_ID']}.{env['GITHUB_RUN_ATTEMPT']}"
    else:
        job = _first(env, JOB_VARS)
    return Provenance(commit, branch, job)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_FAILED_ATTEMPT = {"flakyFailure": 1, "rerunFailure": 1, "flakyError": 2, "rerunError": 2}


def _rows(cases: Iterable[Case]) -> list[tuple[str, int, int, float | None]]:
    """(node id, attempt, outcome code, duration): earlier failed attempts become rows too."""
    seen: dict[str, int] = {}
    rows = []
    for case in cases:
        for attempt in case.attempts:
            n = seen[case.node_id] = seen.get(case.node_id, 0) + 1
            rows.append((case.node_id, n, _FAILED_ATTEMPT.get(attempt.kind, 1), attempt.duration))
        n = seen[case.node_id] = seen.get(case.node_id, 0) + 1
        rows.append((case.node_id, n, store.OUTCOME_CODES[case.outcome], case.duration))
    return rows


def _flaky_in_rows(rows: Iterable[tuple[str, int, int, float | None]]) -> int:
    passed: set[str] = set()
    failed: set[str] = set()
    for node, _, code, _ in rows:
        if code in store.PASS_CODES:
            passed.add(node)
        elif code in store.FAIL_CODES:
            failed.add(node)
    return len(passed & failed)


def _json_scalar(value: object) -> str | None:
    return None if value is None else json.dumps(value)


def _insert(
    db_path: Path,
    *,
    run: dict[str, Any],
    rows: Sequence[tuple[str, int, int, float | None]],
    coverage: CoverageData | None,
    checks: Sequence[tuple[str, str, str | None, str | None, str]],
    hunt: Sequence[tuple[str, str, str | None, float | None, str | None]] = (),
    sessions: Sequence[tuple[str, float, int, str | None]] = (),
    keep: int | None,
) -> int:
    db = store.connect(db_path)
    try:
        with store.guard(db_path), store.transaction(db):
            cur = db.execute(
                "INSERT INTO runs (time, commit_sha, branch, ci_job, kind, passed, tests, failed,"
                " skipped, flaky, coverage, branch_coverage, seconds, source, fingerprint) VALUES"
                " (:time, :commit, :branch, :ci_job, :kind, :passed, :tests, :failed, :skipped,"
                " :flaky, :coverage, :branch_coverage, :seconds, :source, :fingerprint)",
                {"fingerprint": None, **run},
            )
            run_id = int(cur.lastrowid or 0)
            ids = store.intern(db, "tests", "node_id", [r[0] for r in rows] + [h[0] for h in hunt])
            db.executemany(
                "INSERT INTO results (run_id, test_id, attempt, outcome, duration)"
                " VALUES (?, ?, ?, ?, ?)",
                ((run_id, ids[node], a, code, d) for node, a, code, d in rows),
            )
            if coverage is not None:
                fids = store.intern(db, "files", "path", coverage.files)
                db.executemany(
                    "INSERT INTO file_coverage (run_id, file_id, statements, missing, branches,"
                    " missing_branches) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        (
                            run_id,
                            fids[p],
                            f.statements,
                            f.missing,
                            f.branches,
                            len(f.missing_branches),
                        )
                        for p, f in coverage.files.items()
                    ),
                )
            db.executemany(
                "INSERT OR REPLACE INTO checks (run_id, check_id, status, actual, limit_value,"
                " message) VALUES (?, ?, ?, ?, ?, ?)",
                ((run_id, *c) for c in checks),
            )
            db.executemany(
                "INSERT INTO sessions (run_id, name, seconds, tests, stamp) VALUES (?, ?, ?, ?, ?)",
                ((run_id, *row) for row in sessions),
            )
            db.executemany(
                "INSERT OR REPLACE INTO hunt_tests (run_id, test_id, verdict, kind, rate, repro)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                ((run_id, ids[h[0]], *h[1:]) for h in hunt),
            )
            if keep is not None:
                store.prune(db, keep, names=False)
    finally:
        db.close()
    return run_id


def record_run(
    db_path: Path,
    *,
    result: GateResult,
    reports: Sequence[JUnitReport],
    coverage: CoverageData | None,
    root: Path,
    kind: str = "gate",
    keep: int | None = None,
    env: Mapping[str, str] | None = None,
    time: str | None = None,
    source: str | None = None,
    origin: Provenance | None = None,
    fingerprint: str | None = None,
) -> int:
    """Append one run (its tests, sessions, coverage per file and checks) in one transaction.

    `keep` prunes to the newest N runs in the same transaction ([tool.testgate] history_keep);
    `origin` overrides the commit/branch/job read from git and CI variables (imports);
    `fingerprint` is the kind of machine the tests ran on (testgate._machine), None when
    unknown (an imported CI artifact): only runs with one are duration samples. Returns its id.
    """
    cases = [c for r in reports for c in r.cases]
    rows = _rows(cases)
    totals = sum((r.totals for r in reports), start=Totals())
    where = origin or provenance(root, env)
    cov_totals = coverage.totals if coverage is not None else None
    run = {
        "time": time or utc_now(),
        "commit": where.commit,
        "branch": where.branch,
        "ci_job": where.ci_job,
        "kind": kind,
        "passed": int(result.passed),
        "tests": totals.tests,
        "failed": totals.failed + totals.errors,
        "skipped": totals.skipped,
        "flaky": _flaky_in_rows(rows),
        "coverage": cov_totals.percent if cov_totals is not None else None,
        "branch_coverage": (
            cov_totals.branch_percent
            if cov_totals is not None and coverage is not None and coverage.has_branches
            else None
        ),
        "seconds": sum(r.seconds for r in reports),
        "source": source,
        "fingerprint": fingerprint,
    }
    checks = [
        (c.id, c.status.value, _json_scalar(c.actual), _json_scalar(c.limit), c.message)
        for c in result.checks
    ]
    return _insert(
        db_path,
        run=run,
        rows=rows,
        coverage=coverage,
        checks=checks,
        sessions=session_rows(reports),
        keep=keep,
    )


def session_rows(reports: Sequence[JUnitReport]) -> list[tuple[str, float, int, str | None]]:
    """(session, seconds, tests, stamp) per session, as the duration budgets add them up."""
    stamps = session_stamps(reports)
    return [
        (_storable(name), s, n, stamps.get(name))
        for name, (s, n, _) in sorted(sessions(reports).items())
    ]


def _storable(name: str) -> str:
    """A session name comes from a file name: an undecodable byte is stored as its escape."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def record_flaky(
    db_path: Path,
    report: FlakyReport,
    root: Path,
    *,
    keep: int | None = None,
    env: Mapping[str, str] | None = None,
    time: str | None = None,
    origin: Provenance | None = None,
) -> int:
    """Append a flake hunt: each iteration's results as attempts.

    The per-iteration JUnit files give durations; when one is gone, the per-test counts of
    flaky.json stand in (without durations), so a hunt is never recorded as cleaner than it was.
    """
    hunt = [(t.id, t.verdict, t.kind, t.flake_rate, t.repro) for t in report.tests]
    rows: list[tuple[str, int, int, float | None]] = []
    seconds = 0.0
    try:
        for n, hrun in enumerate(report.runs, start=1):
            seconds += hrun.seconds or 0.0
            if not hrun.junit:
                raise InputError(f"run {n} has no junit file")
            path = Path(hrun.junit) if Path(hrun.junit).is_absolute() else root / hrun.junit
            for case in read_junit(path, root=root, salvage=True).cases:
                rows.append(
                    (case.node_id, hrun.iteration, store.OUTCOME_CODES[case.outcome], case.duration)
                )
        if not report.runs:
            raise InputError("no runs")
        # One row per (test, iteration): a repeated node id within an iteration keeps its last.
        rows = list({(r[0], r[1]): r for r in rows}.values())
    except TestgateError:
        rows = []
        for t in report.tests:
            n = 0
            for code, count in ((0, t.passed), (1, t.failed)):
                for _ in range(count):
                    n += 1
                    rows.append((t.id, n, code, None))
    verdicts = [t.verdict for t in report.tests]
    run = {
        "time": time or utc_now(),
        **(origin or provenance(root, env)).__dict__,
        "kind": "flaky",
        "passed": int(FLAKY not in verdicts and FAILED not in verdicts),
        "tests": len(hunt),
        "failed": verdicts.count(FAILED),
        "skipped": verdicts.count(SKIPPED),
        "flaky": verdicts.count(FLAKY),
        "coverage": None,
        "branch_coverage": None,
        "seconds": seconds,
        "source": "flaky.json",
    }
    return _insert(db_path, run=run, rows=rows, coverage=None, checks=[], hunt=hunt, keep=keep)
