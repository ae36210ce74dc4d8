"""Queries over many tests go to SQLite in chunks under its parameter limit, none lost."""

from __future__ import annotations

import sqlite3

from testgate.history.queries import CHUNK, _in_chunks


def test_every_value_is_looked_up_across_chunks_with_the_trailing_parameters() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id INTEGER, run INTEGER)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, i % 3) for i in range(2 * CHUNK + 5)])
    ids = list(range(2 * CHUNK + 5))
    rows = list(_in_chunks(db, "SELECT id FROM t WHERE id IN ({marks}) AND run = ?", ids, 1))
    assert sorted(r[0] for r in rows) == [i for i in ids if i % 3 == 1]
    assert list(_in_chunks(db, "SELECT id FROM t WHERE id IN ({marks})", [])) == []
