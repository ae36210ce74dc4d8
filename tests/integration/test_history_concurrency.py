"""Real processes against one history file: concurrent writers lose nothing, and a writer
killed in the middle of an append leaves the previous runs intact and no half run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from testgate.history import queries, store

WRITER = """
import sys, time
from pathlib import Path
from testgate.checks import GateResult
from testgate.history import record_run
from testgate.history.record import Provenance
from testgate.model import Case, JUnitReport, Outcome

db, name, start = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[5])
runs, tests = int(sys.argv[3]), int(sys.argv[4])
cases = tuple(
    Case(f"tests/test_{name}.py::test_{i}", f"test_{i}", Outcome.PASSED, 0.001 * (i % 7))
    for i in range(tests)
)
report = JUnitReport("reports/junit/unit.xml", cases)
print("ready", flush=True)
while not start.exists():
    time.sleep(0.005)
for n in range(runs):
    record_run(db, result=GateResult(()), reports=[report], coverage=None, root=db.parent,
               origin=Provenance(f"{name}-{n}", name, None))
print("done", flush=True)
"""


def _writer(db: Path, name: str, runs: int, tests: int, start: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), name, str(runs), str(tests), str(start)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "reports" / "history.sqlite"
    start = tmp_path / "go"
    writers = [_writer(db_path, f"w{n}", 12, 400, start) for n in range(3)]
    for w in writers:
        assert w.stdout is not None
        assert w.stdout.readline().strip() == "ready"
    start.touch()  # all at once: even the schema creation races
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        assert out.strip() == "done"
    db = store.connect(db_path, create=False)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = queries.runs(db, include_infra=True)
    assert len(runs) == 36
    assert len({r.id for r in runs}) == 36
    assert {r.branch for r in runs} == {"w0", "w1", "w2"}
    assert db.execute("SELECT count(*) FROM results").fetchone()[0] == 36 * 400
    assert db.execute("SELECT count(*) FROM tests").fetchone()[0] == 3 * 400
    # each run holds exactly its own writer's tests
    mixed = db.execute(
        "SELECT count(*) FROM results r JOIN runs u ON u.id = r.run_id JOIN tests t"
        " ON t.id = r.test_id WHERE t.node_id NOT LIKE 'tests/test_' || u.branch || '.py::%'"
    ).fetchone()[0]
    assert mixed == 0


def test_a_writer_killed_mid_append_leaves_the_history_consistent(tmp_path: Path) -> None:
    db_path = tmp_path / "history.sqlite"
    start = tmp_path / "go"
    start.touch()
    seed = _writer(db_path, "seed", 1, 1000, start)
    assert seed.communicate(timeout=300)[0].split() == ["ready", "done"]
    wal = db_path.with_name(db_path.name + "-wal")
    start.unlink()
    big = _writer(db_path, "big", 1, 400_000, start)
    assert big.stdout is not None
    assert big.stdout.readline().strip() == "ready"
    before = wal.stat().st_size if wal.exists() else 0
    start.touch()
    # kill it once the uncommitted append has spilled pages into the WAL
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and big.poll() is None:
        if wal.exists() and wal.stat().st_size > before + 2_000_000:
            break
        time.sleep(0.002)
    assert big.poll() is None, "the writer finished before it could be killed; make it bigger"
    os.kill(big.pid, signal.SIGKILL)
    big.communicate(timeout=60)
    assert big.returncode == -signal.SIGKILL

    # plain sqlite3 first: the file is a consistent database, the half run is gone
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert raw.execute("SELECT branch, tests FROM runs").fetchall() == [("seed", 1000)]
    assert raw.execute("SELECT count(*) FROM results").fetchone()[0] == 1000
    assert raw.execute("SELECT count(*) FROM tests").fetchone()[0] == 1000
    raw.close()

    # and the history keeps working
    start.touch()
    after = _writer(db_path, "after", 1, 10, start)
    assert after.communicate(timeout=300)[0].split() == ["ready", "done"]
    db = store.connect(db_path, create=False)
    assert [r.branch for r in queries.runs(db, include_infra=True)] == ["seed", "after"]


OPENER = """
import sys, time
from pathlib import Path
from testgate.history import store

path, start = Path(sys.argv[1]), Path(sys.argv[2])
print("ready", flush=True)
while not start.exists():
    time.sleep(0.001)
store.connect(path).close()
"""


def test_processes_opening_a_new_history_at_once_all_get_in(tmp_path: Path) -> None:
    """Switching a new file to WAL while others open it fails at once unless retried: before
    the retry, 16 of 160 such opens failed with "database is locked"."""
    for round_ in range(20):
        start = tmp_path / f"go-{round_}"
        path = tmp_path / f"history-{round_}.sqlite"
        openers = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, str(path), str(start)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for opener in openers:
            assert opener.stdout is not None
            assert opener.stdout.readline().strip() == "ready"
        start.touch()
        for opener in openers:
            _, err = opener.communicate(timeout=120)
            assert opener.returncode == 0, err
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert db.execute("PRAGMA user_version").fetchone() == (store.SCHEMA_VERSION,)
