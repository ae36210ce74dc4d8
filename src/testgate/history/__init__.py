"""The embedded run history (`reports/history.sqlite`): record runs, ask what changed.

`record_run` is what `testgate gate` calls; `record_flaky` what `testgate flaky` calls;
`load_baseline("history:main", ...)` is what `--baseline history:main` resolves to.
"""

from __future__ import annotations

from pathlib import Path

from testgate.errors import UsageError
from testgate.history import store
from testgate.history.queries import FileTotals, HistoryBaseline, baseline
from testgate.history.record import record_flaky, record_run

PREFIX = "history:"


def is_history_baseline(spec: str) -> bool:
    return spec.startswith(PREFIX)


def load_baseline(spec: str, db_path: Path, *, window: int = 5) -> HistoryBaseline:
    """`history:BRANCH` -> the newest run on BRANCH in the history at `db_path`."""
    branch = spec.removeprefix(PREFIX)
    if not is_history_baseline(spec) or not branch:
        raise UsageError(f"--baseline {spec!r}: expected history:BRANCH, e.g. history:main")
    db = store.connect(db_path, create=False)
    try:
        return baseline(db, branch, window=window)
    finally:
        db.close()


__all__ = [
    "FileTotals",
    "HistoryBaseline",
    "is_history_baseline",
    "load_baseline",
    "record_flaky",
    "record_run",
]
