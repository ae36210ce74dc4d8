"""What the history answers: trends, drops, duration regressions, flakiness, baselines.

Runs where more than 80% of the tests failed are infrastructure failures (a dead database, a
full disk): every query here ignores them, so one broken machine neither flags every test as
flaky nor drags a trend down.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from testgate._glob import glob_regex
from testgate.errors import InputError
from testgate.history import store
from testgate.history.store import RUN_COLUMNS, run_from_row
from testgate.model import percent
from testgate.model.history import (
    FileTotals,
    FlakyHistory,
    FlakyStat,
    HistoryBaseline,
    Regression,
    RunRow,
    TrendPoint,
)

GATE_KINDS = ("gate", "import")
CHUNK = 900  # values per IN (...) list: under SQLite's default limit of 999 parameters


def runs(
    db: sqlite3.Connection,
    *,
    branch: str | None = None,
    kinds: Sequence[str] | None = None,
    last: int | None = None,
    include_infra: bool = False,
) -> list[RunRow]:
    """Runs oldest first; the newest `last` of them when given."""
    where, params = [], []
    if branch is not None:
        where.append("branch = ?")
        params.append(branch)
    if kinds is not None:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        params.extend(kinds)
    if not include_infra:
        where.append("NOT (tests > 0 AND failed > 0.8 * tests)")
    sql = f"SELECT {RUN_COLUMNS} FROM runs"  # noqa: S608 - column list is a constant
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC"
    if last is not None:
        sql += f" LIMIT {int(last)}"
    return [run_from_row(r) for r in reversed(db.execute(sql, params).fetchall())]


def coverage_trend(
    db: sqlite3.Connection,
    *,
    module: str | None = None,
    last: int = 20,
    branch: str | None = None,
) -> list[TrendPoint]:
    """Total (or one module glob's) coverage of the last runs that had coverage data."""
    window = [r for r in runs(db, branch=branch, kinds=GATE_KINDS) if r.coverage is not None]
    window = window[-last:]
    if module is None:
        return [TrendPoint(r, r.coverage) for r in window if r.coverage is not None]
    pattern = glob_regex(module)
    file_ids = [i for i, p in db.execute("SELECT id, path FROM files") if pattern.match(p)]
    if not file_ids or not window:
        return []
    ids = ",".join(str(i) for i in file_ids)
    run_ids = ",".join(str(r.id) for r in window)
    sums = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT run_id, sum(statements), sum(missing), sum(branches), sum(missing_branches)"  # noqa: S608 - integers
            " FROM file_coverage WHERE " + f"run_id IN ({run_ids}) AND file_id IN ({ids})"
            " GROUP BY run_id"
        )
    }
    points = []
    for r in window:
        if r.id in sums:
            s, m, b, mb = sums[r.id]
            points.append(TrendPoint(r, percent(s - m + b - mb, s + b), s))
    return points


def _durations(
    db: sqlite3.Connection,
    run_ids: Sequence[int],
    *,
    above: float | None = None,
    tests: Sequence[int] | None = None,
) -> dict[int, dict[int, float]]:
    """test id -> run id -> seconds (the mean over attempts that ran, skips left out); only
    times `above` a floor, only the given `tests` (seeking them rather than reading whole runs).
    """
    out: dict[int, dict[int, float]] = defaultdict(dict)
    ids = ",".join(str(i) for i in run_ids)
    if tests is not None:
        db.execute("CREATE TEMP TABLE IF NOT EXISTS _candidates (id INTEGER PRIMARY KEY)")
        db.execute("DELETE FROM _candidates")
        db.executemany("INSERT INTO _candidates (id) VALUES (?)", ((t,) for t in tests))
        rows = db.execute(
            "SELECT r.run_id, r.test_id, avg(r.duration) FROM _candidates c CROSS JOIN results r"  # noqa: S608 - integers
            + f" ON r.test_id = c.id WHERE r.run_id IN ({ids}) AND r.outcome NOT IN (3, 4)"
            + " AND r.duration IS NOT NULL GROUP BY r.run_id, r.test_id"
        ).fetchall()
        db.execute("DELETE FROM _candidates")
    else:
        having = f" HAVING avg(duration) > {float(above)!r}" if above is not None else ""
        rows = db.execute(
            "SELECT run_id, test_id, avg(duration) FROM results WHERE "  # noqa: S608 - integers
            + f"run_id IN ({ids}) AND outcome NOT IN (3, 4) AND duration IS NOT NULL"
            + " GROUP BY run_id, test_id"
            + having
        ).fetchall()
    for run_id, test_id, seconds in rows:
        out[test_id][run_id] = seconds
    return out


def _in_chunks(
    db: sqlite3.Connection, sql: str, values: Sequence[object], *after: object
) -> Iterator[Any]:
    """Rows of `sql` for every value, a chunk at a time: `{marks}` in `sql` becomes the chunk's
    placeholders, and `after` follows the chunk's values as the remaining parameters."""
    for n in range(0, len(values), CHUNK):
        chunk = values[n : n + CHUNK]
        marks = ",".join("?" * len(chunk))
        yield from db.execute(sql.format(marks=marks), (*chunk, *after))


def _names(db: sqlite3.Connection, ids: Sequence[int]) -> dict[int, str]:
    sql = "SELECT id, node_id FROM tests WHERE id IN ({marks})"
    return dict(_in_chunks(db, sql, ids))


def duration_regressions(
    db: sqlite3.Connection,
    *,
    last: int = 5,
    recent: int = 1,
    factor: float = 1.5,
    floor: float = 0.1,
    branch: str | None = None,
) -> list[Regression]:
    """Tests whose median time over the `recent` newest runs exceeds `factor` x their median
    over the `last` runs before, and the `floor` seconds (noise below it is not a regression).
    """
    window = runs(db, branch=branch, kinds=GATE_KINDS, last=last + recent)
    if len(window) <= recent:
        return []
    new_ids = [r.id for r in window[-recent:]]
    old_ids = [r.id for r in window[:-recent]]
    # Only a test with a recent time above the floor can regress: read the others no further.
    candidates = sorted(_durations(db, new_ids, above=floor))
    per_test = _durations(db, [r.id for r in window], tests=candidates)
    found = []
    for test_id, by_run in per_test.items():
        new = [by_run[i] for i in new_ids if i in by_run]
        old = [by_run[i] for i in old_ids if i in by_run]
        if not new or not old:
            continue
        current, baseline = statistics.median(new), statistics.median(old)
        if current > floor and current > factor * baseline:
            found.append((test_id, baseline, current, len(old)))
    names = _names(db, [f[0] for f in found])
    regressions = [Regression(names[t], b, c, n) for t, b, c, n in found]
    return sorted(regressions, key=lambda r: (-r.factor, r.node_id))


def flaky_tests(
    db: sqlite3.Connection,
    *,
    last: int = 30,
    clear_after: int = 10,
    branch: str | None = None,
) -> FlakyHistory:
    """Cross-run flakiness over the newest `last` runs (infrastructure failures left out).

    A test flaked in a run when it failed there and passed on the same commit: in that run
    (a rerun, a repetition, a hunt iteration) or in any other run of that commit. Failing on a
    commit where it never passed is a real failure, not a flake. The label clears after
    `clear_after` clean runs.
    """
    window = runs(db, branch=branch, last=last)
    if not window:
        return FlakyHistory((), ())
    order = {r.id: n for n, r in enumerate(window)}
    # "Passed on the same commit" looks at every run of the window's commits, even older ones.
    commits = sorted({r.commit for r in window if r.commit is not None})
    related = {r.id: r.commit for r in window}
    sql = (
        "SELECT id, commit_sha FROM runs WHERE commit_sha IN ({marks})"
        " AND NOT (tests > 0 AND failed > 0.8 * tests)"
    )
    for run_id, sha in _in_chunks(db, sql, commits):
        related.setdefault(run_id, sha)
    commit = related
    lo, hi = window[0].id, window[-1].id
    candidates = sorted(
        {
            t
            for run_id, t in db.execute(
                "SELECT run_id, test_id FROM results INDEXED BY results_failed"
                " WHERE outcome IN (1, 2) AND run_id BETWEEN ? AND ?",
                (lo, hi),
            )
            if run_id in order
        }
    )
    passed: dict[tuple[int, int], bool] = {}
    failed: dict[tuple[int, int], bool] = {}
    db.execute("CREATE TEMP TABLE IF NOT EXISTS _candidates (id INTEGER PRIMARY KEY)")
    db.execute("DELETE FROM _candidates")
    db.executemany("INSERT INTO _candidates (id) VALUES (?)", ((t,) for t in candidates))
    related_ids = ",".join(str(r) for r in sorted(related))
    for test_id, run_id, outcome in db.execute(
        # CROSS JOIN fixes the order: per candidate, seek (run, test); never scan whole runs
        "SELECT r.test_id, r.run_id, r.outcome FROM _candidates c CROSS JOIN results r"  # noqa: S608 - integers
        + f" ON r.test_id = c.id WHERE r.run_id IN ({related_ids})"
    ):
        key = (test_id, run_id)
        if outcome in store.PASS_CODES:
            passed[key] = True
        elif outcome in store.FAIL_CODES:
            failed[key] = True
    db.execute("DELETE FROM _candidates")
    lo = min(related)
    passed_on: set[tuple[int, str]] = {(t, c) for (t, r) in passed if (c := commit[r]) is not None}
    ran: dict[int, list[int]] = defaultdict(list)
    in_window = [k for k in passed.keys() | failed.keys() if k[1] in order]
    for t, r in sorted(in_window, key=lambda k: order[k[1]]):
        ran[t].append(r)
    hunts = _hunt_info(db, candidates, lo, hi)
    stats, per_run = [], dict.fromkeys(order, 0)
    for t, run_ids in ran.items():
        flaked = [
            r
            for r in run_ids
            if failed.get((t, r))
            and (passed.get((t, r)) or (commit[r] is not None and (t, commit[r]) in passed_on))
        ]
        if not flaked:
            continue
        for r in flaked:
            per_run[r] += 1
        last_flake = flaked[-1]
        clean = sum(1 for r in run_ids if order[r] > order[last_flake] and not failed.get((t, r)))
        stats.append((t, flaked, len(run_ids), last_flake, clean))
    names = _names(db, [s[0] for s in stats])
    result = [
        FlakyStat(
            node_id=names[t],
            flaked=len(flaked),
            runs=n_runs,
            last_flaked_run=last_flake,
            clean_since=clean,
            active=clean < clear_after,
            kind=hunts.get(t, (None, None))[0],
            repro=hunts.get(t, (None, None))[1],
            commits=tuple(sorted({c for r in flaked if (c := commit[r]) is not None})),
        )
        for t, flaked, n_runs, last_flake, clean in stats
    ]
    result.sort(key=lambda s: (-s.flaked, -s.rate, s.node_id))
    return FlakyHistory(tuple(window), tuple(result), per_run)


def _hunt_info(
    db: sqlite3.Connection, test_ids: Sequence[int], lo: int, hi: int
) -> dict[int, tuple[str | None, str | None]]:
    """The newest flake hunt's kind and repro command per test."""
    info: dict[int, tuple[str | None, str | None]] = {}
    sql = (
        "SELECT test_id, kind, repro FROM hunt_tests WHERE test_id IN ({marks})"
        " AND run_id BETWEEN ? AND ? AND verdict = 'flaky' ORDER BY run_id"
    )
    for test_id, kind, repro in _in_chunks(db, sql, test_ids, lo, hi):
        info[test_id] = (kind, repro)
    return info


def baseline(db: sqlite3.Connection, branch: str, *, window: int = 5) -> HistoryBaseline:
    """The newest gate run on `branch` (infrastructure failures skipped), with per-file coverage
    and per-test durations as the median over the newest `window` runs on the branch.
    """
    recent = runs(db, branch=branch, kinds=GATE_KINDS, last=window)
    if not recent:
        raise InputError(
            f"history has no run on branch {branch!r}; record one (testgate gate on {branch}) "
            "or use a baseline folder"
        )
    latest = recent[-1]
    files = {
        path: FileTotals(path, s, m, b, mb)
        for path, s, m, b, mb in db.execute(
            "SELECT f.path, c.statements, c.missing, c.branches, c.missing_branches"
            " FROM file_coverage c JOIN files f ON f.id = c.file_id WHERE c.run_id = ?",
            (latest.id,),
        )
    }
    per_test = _durations(db, [r.id for r in recent])
    names = _names(db, list(per_test))
    durations = {names[t]: statistics.median(v.values()) for t, v in per_test.items()}
    return HistoryBaseline(latest, files, durations)


def duration_samples(
    db: sqlite3.Connection,
    fingerprint: str,
    sessions: Mapping[str, str | None],
    tests: Mapping[str, str],
    *,
    earlier: int,
) -> tuple[dict[str, tuple[float, ...]], dict[str, tuple[float, ...]]]:
    """Earlier duration samples on machines with `fingerprint`, oldest first.

    `sessions`: session name -> this run's stamp; each gets the seconds of its newest
    `earlier` runs (gate runs, infrastructure failures left out), skipping runs with the same
    stamp: the same test run judged again is not a second sample. `tests`: node id -> its
    session; each gets its seconds (mean over attempts) in those runs of its session.
    """
    chosen: dict[str, list[tuple[int, float]]] = {name: [] for name in sessions}
    rows = db.execute(
        "SELECT s.run_id, s.name, s.seconds, s.stamp FROM sessions s JOIN runs r ON r.id = s.run_id"
        " WHERE r.fingerprint = ? AND r.kind IN ('gate', 'import')"
        " AND NOT (r.tests > 0 AND r.failed > 0.8 * r.tests) ORDER BY s.run_id DESC",
        (fingerprint,),
    )
    for run_id, name, seconds, stamp in rows:
        got = chosen.get(name)
        if got is None or len(got) >= earlier or (stamp is not None and stamp == sessions[name]):
            continue
        got.append((int(run_id), float(seconds)))
        if all(len(v) >= earlier for v in chosen.values()):
            break
    for got in chosen.values():
        got.reverse()
    session_samples = {name: tuple(s for _, s in got) for name, got in chosen.items() if got}
    run_ids = sorted({run_id for got in chosen.values() for run_id, _ in got})
    if not run_ids or not tests:
        return session_samples, {}
    ids = _test_ids(db, tests)
    per_test = _durations(db, run_ids, tests=sorted(ids.values()))
    test_samples = {}
    for node, test_id in ids.items():
        by_run = per_test.get(test_id, {})
        values = tuple(by_run[r] for r, _ in chosen[tests[node]] if r in by_run)
        if values:
            test_samples[node] = values
    return session_samples, test_samples


def _test_ids(db: sqlite3.Connection, names: Collection[str]) -> dict[str, int]:
    """Ids of the tests the history knows among `names` (read-only: unknown ones are left out)."""
    sql = "SELECT node_id, id FROM tests WHERE node_id IN ({marks})"
    return dict(_in_chunks(db, sql, sorted(names)))
