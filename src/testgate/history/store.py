"""The SQLite run history: schema, migrations, and the one-transaction append.

Why SQLite: one file a CI cache can carry, readable by any tool, safe for two writers. WAL lets
readers run while a writer appends; `busy_timeout` makes a second writer wait instead of fail;
every run is appended inside one `BEGIN IMMEDIATE` transaction, so a process killed mid-write
leaves the previous runs intact and no half run behind.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from testgate.errors import InputError
from testgate.model import Outcome
from testgate.model.history import RunRow

BUSY_TIMEOUT_MS = 60_000

# Results are keyed (run, test, attempt) and nothing else indexes every row: an index by test
# would make each append rewrite a page per test (50,000 pages for a 50,000-test run). Queries
# by test read the few failing tests through `results_failed` and then seek (run, test).
# Foreign keys document the schema; they are not enforced (a check per row on append), and
# `prune` deletes a run's rows itself.

# Outcomes as small integers: the results table is the big one (50,000 rows per run).
OUTCOME_CODES: dict[Outcome, int] = {
    Outcome.PASSED: 0,
    Outcome.FAILED: 1,
    Outcome.ERROR: 2,
    Outcome.SKIPPED: 3,
    Outcome.XFAILED: 4,
    Outcome.XPASSED: 5,
}
CODE_OUTCOMES = {v: k for k, v in OUTCOME_CODES.items()}
PASS_CODES = (0, 5)
FAIL_CODES = (1, 2)

_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,              -- UTC, ISO 8601 with Z
    commit_sha TEXT,
    branch TEXT,
    ci_job TEXT,
    kind TEXT NOT NULL,              -- gate, flaky, import
    passed INTEGER NOT NULL,         -- the verdict
    tests INTEGER NOT NULL,
    failed INTEGER NOT NULL,         -- failures + errors
    skipped INTEGER NOT NULL,
    flaky INTEGER NOT NULL,
    coverage REAL,                   -- total percent, NULL without coverage data
    branch_coverage REAL,
    seconds REAL NOT NULL,
    source TEXT
);
CREATE TABLE tests (id INTEGER PRIMARY KEY, node_id TEXT NOT NULL UNIQUE);
CREATE TABLE results (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    test_id INTEGER NOT NULL REFERENCES tests(id),
    attempt INTEGER NOT NULL,        -- 1, or the repetition / hunt iteration
    outcome INTEGER NOT NULL,
    duration REAL,
    PRIMARY KEY (run_id, test_id, attempt)
) WITHOUT ROWID;
CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE file_coverage (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    file_id INTEGER NOT NULL REFERENCES files(id),
    statements INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    branches INTEGER NOT NULL,
    missing_branches INTEGER NOT NULL,
    PRIMARY KEY (run_id, file_id)
) WITHOUT ROWID;
CREATE TABLE checks (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    check_id TEXT NOT NULL,
    status TEXT NOT NULL,
    actual TEXT,                     -- JSON scalar: numbers stay numbers
    limit_value TEXT,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, check_id)
) WITHOUT ROWID;
"""

# v2: the flake hunt's own verdicts (kind, rate, repro) next to its raw results; indexes for
# "the latest run on branch X" (baselines) and for failures (flakiness queries read only those).
_V2 = """
CREATE TABLE hunt_tests (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    test_id INTEGER NOT NULL REFERENCES tests(id),
    verdict TEXT NOT NULL,
    kind TEXT,
    rate REAL,
    repro TEXT,
    PRIMARY KEY (run_id, test_id)
) WITHOUT ROWID;
CREATE INDEX runs_by_branch ON runs(branch, id);
CREATE INDEX results_failed ON results(run_id, test_id) WHERE outcome IN (1, 2);
"""


# v3: the kind of machine a gate run happened on (testgate._machine.fingerprint; NULL for
# imports, whose machine is unknown) and each session's wall time, so duration budgets can judge
# the median of the last runs on the same kind of machine. `stamp` holds the JUnit timestamps:
# one test run judged twice is one sample, not two.
_V3 = """
ALTER TABLE runs ADD COLUMN fingerprint TEXT;
CREATE TABLE sessions (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    seconds REAL NOT NULL,
    tests INTEGER NOT NULL,
    stamp TEXT,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE INDEX runs_by_fingerprint ON runs(fingerprint, id);
"""


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def apply(db: sqlite3.Connection) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                db.execute(statement)

    return apply


# MIGRATIONS[n] takes a database at user_version n to n + 1. Append only; never edit one.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _script(_V1),
    _script(_V2),
    _script(_V3),
)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and create or migrate) the history; InputError for anything that is not one."""
    if not create and not path.is_file():
        raise InputError(
            f"{path}: no run history yet; run `testgate gate` or `testgate history import` first"
        )
    with guard(path):
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _while_locked(lambda: db.execute("PRAGMA journal_mode = WAL"))
            db.execute("PRAGMA synchronous = NORMAL")
            _migrate(db, path)
        except BaseException:
            db.close()
            raise
    return db


def _while_locked(step: Callable[[], object]) -> None:
    """Retry `step` while another process holds the lock it needs, up to the busy timeout.

    Switching a new file to WAL while other processes open it too fails at once with
    "database is locked": SQLite does not call the busy handler there (measured: 16 of 160
    opens by 4 processes racing on a fresh file).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


@contextmanager
def guard(path: Path) -> Iterator[None]:
    """SQLite and file-system failures as one-line InputErrors naming the history file."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise InputError(
            f"{path}: cannot use the run history ({exc}); check the path, its permissions "
            "and the free disk space"
        ) from None
    except sqlite3.DatabaseError as exc:
        raise InputError(
            f"{path}: not a testgate history database ({exc}); move it away or point "
            "[tool.testgate] history elsewhere"
        ) from None
    except OSError as exc:
        raise InputError(
            f"{path}: cannot use the run history ({exc.strerror or exc}); check the path "
            "and its permissions"
        ) from None


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise InputError(
            f"{path}: history schema version {version} is newer than this testgate "
            f"understands ({SCHEMA_VERSION}); upgrade testgate"
        )
    with transaction(db):
        # Re-read inside the write lock: another process may have migrated meanwhile.
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and _has_tables(db):
            raise InputError(f"{path}: an SQLite database, but not a testgate history")
        for step in MIGRATIONS[version:]:
            step(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _has_tables(db: sqlite3.Connection) -> bool:
    return bool(db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE: take the write lock up front so two writers queue instead of deadlock."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


RUN_COLUMNS = (
    "id, time, commit_sha, branch, ci_job, kind, passed, tests, failed, skipped, flaky, "
    "coverage, branch_coverage, seconds, source"
)


def run_from_row(row: Sequence[object]) -> RunRow:
    (
        id_,
        time,
        commit,
        branch,
        job,
        kind,
        passed,
        tests,
        failed,
        skipped,
        flaky,
        cov,
        bcov,
        seconds,
        source,
    ) = row
    return RunRow(
        id=int(id_),  # type: ignore[call-overload]
        time=str(time),
        commit=commit if isinstance(commit, str) else None,
        branch=branch if isinstance(branch, str) else None,
        ci_job=job if isinstance(job, str) else None,
        kind=str(kind),
        passed=bool(passed),
        tests=int(tests),  # type: ignore[call-overload]
        failed=int(failed),  # type: ignore[call-overload]
        skipped=int(skipped),  # type: ignore[call-overload]
        flaky=int(flaky),  # type: ignore[call-overload]
        coverage=float(cov) if isinstance(cov, (int, float)) else None,
        branch_coverage=float(bcov) if isinstance(bcov, (int, float)) else None,
        seconds=float(seconds),  # type: ignore[arg-type]
        source=source if isinstance(source, str) else None,
    )


def intern(
    db: sqlite3.Connection, table: str, column: str, values: Iterable[str]
) -> dict[str, int]:
    """Ids for names (test node ids, file paths), adding the new ones.

    A big batch reads the whole name table once (one sequential scan beats 50,000 index
    probes); a small one looks its names up. Table and column names are this module's constants.
    """
    wanted = set(values)
    if not wanted:
        return {}
    select = f"SELECT {column}, id FROM {table}"  # noqa: S608 - constants
    if len(wanted) > 2000:
        ids = {name: id_ for name, id_ in db.execute(select) if name in wanted}
    else:
        ids = _lookup(db, select, column, wanted)
    new = sorted(wanted.difference(ids))
    if new:
        db.executemany(f"INSERT INTO {table} ({column}) VALUES (?)", ((v,) for v in new))  # noqa: S608 - constants
        ids.update(_lookup(db, select, column, new))
    return ids


def _lookup(
    db: sqlite3.Connection, select: str, column: str, names: Iterable[str]
) -> dict[str, int]:
    ids: dict[str, int] = {}
    chunk: list[str] = []
    for name in [*names, None]:
        if name is not None:
            chunk.append(name)
        if chunk and (name is None or len(chunk) == 900):
            where = f" WHERE {column} IN ({','.join('?' * len(chunk))})"
            ids.update(db.execute(select + where, chunk).fetchall())
            chunk = []
    return ids


def prune(db: sqlite3.Connection, keep: int, *, names: bool = True) -> int:
    """Keep the newest `keep` runs; returns how many were deleted (in the caller's transaction).

    `names` also drops test and file names no run uses any more: a scan of every result, so
    the retention done on each append leaves it to `testgate history prune`.
    """
    cut = db.execute(
        "SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?", (keep - 1,)
    ).fetchone()
    if cut is None:
        return 0
    for child in ("results", "file_coverage", "checks", "hunt_tests", "sessions"):
        db.execute(f"DELETE FROM {child} WHERE run_id < ?", (cut[0],))  # noqa: S608 - constants
    deleted = db.execute("DELETE FROM runs WHERE id < ?", (cut[0],)).rowcount
    if deleted and names:
        db.execute(
            "DELETE FROM tests WHERE id NOT IN "
            "(SELECT test_id FROM results UNION SELECT test_id FROM hunt_tests)"
        )
        db.execute("DELETE FROM files WHERE id NOT IN (SELECT DISTINCT file_id FROM file_coverage)")
    return int(deleted)
