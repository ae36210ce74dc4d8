"""The embedded run history (`reports/history.sqlite`): record runs, ask what changed.

`record_run` is what `testgate gate` calls; `record_flaky` what `testgate flaky` calls;
`read_baseline("history:main", ...)` is what `--baseline history:main` resolves to.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from testgate.checks.durations import session_of, session_stamps
from testgate.errors import TestgateError, UsageError
from testgate.history import queries, store
from testgate.history.queries import baseline, duration_samples
from testgate.history.record import record_flaky, record_run
from testgate.model.durations import Samples
from testgate.model.gate import Baseline, CoverageBaseline
from testgate.model.history import FileTotals, HistoryBaseline, HistoryView

if TYPE_CHECKING:
    from testgate.config import Config
    from testgate.model import JUnitReport

PREFIX = "history:"
TREND_RUNS = 30  # runs the HTML report's trends and flaky labels span


def is_history_baseline(spec: str) -> bool:
    return spec.startswith(PREFIX)


def newest_run(spec: str, db_path: Path, *, window: int = 5) -> HistoryBaseline:
    """`history:BRANCH` -> the newest run on BRANCH in the history at `db_path`."""
    branch = spec.removeprefix(PREFIX)
    if not is_history_baseline(spec) or not branch:
        raise UsageError(f"--baseline {spec!r}: expected history:BRANCH, e.g. history:main")
    db = store.connect(db_path, create=False)
    try:
        return baseline(db, branch, window=window)
    finally:
        db.close()


def view(db_path: Path, *, last: int = TREND_RUNS) -> HistoryView | None:
    """The last gate runs and the flaky labels over them; None when there is no history yet."""
    if not db_path.is_file():
        return None
    db = store.connect(db_path, create=False)
    try:
        runs = queries.runs(db, kinds=queries.GATE_KINDS, last=last)
        return HistoryView(tuple(runs), queries.flaky_tests(db, last=last))
    finally:
        db.close()


def read_baseline(spec: str, db_path: Path) -> Baseline:
    """`--baseline history:BRANCH` as the gate's `Baseline` (coverage per file, durations)."""
    found = newest_run(spec, db_path)
    run = found.run
    source = f"{spec} (run {run.id}, {(run.commit or 'no commit')[:10]}, {run.time})"
    coverage = (
        CoverageBaseline(
            found.coverage, {p: (f.statements, f.missing) for p, f in found.files.items()}, source
        )
        if found.coverage is not None
        else None
    )
    return Baseline(source, coverage, dict(found.durations) or None)


def samples(
    config: Config, reports: Sequence[JUnitReport], machine: str
) -> tuple[Samples, str | None]:
    """The earlier duration samples the gate judges with (docs/durations.md), and the one-line
    problem when the history exists but cannot be read (then: this run's figures alone)."""
    window = config.durations.window
    path = config.history_path
    try:
        shown = path.relative_to(config.root).as_posix()
    except ValueError:
        shown = str(path)
    if window == 1:
        return Samples(1, "durations.window = 1: this run's figures alone"), None
    if not path.is_file():
        return Samples(window, f"no run history at {shown} yet: this run's figures alone"), None
    stamps = session_stamps(reports)
    sessions = {session_of(r.path): stamps.get(session_of(r.path)) for r in reports}
    tests = {c.node_id: session_of(r.path) for r in reports for c in r.cases}
    try:
        db = store.connect(path, create=False)
        try:
            with store.guard(path):
                by_session, by_test = duration_samples(
                    db, machine, sessions, tests, earlier=window - 1
                )
        finally:
            db.close()
    except TestgateError as exc:
        origin = f"run history unreadable: this run's figures alone ({exc.message})"
        return Samples(window, origin), exc.message
    where = f"in {shown} on this kind of machine ({machine}), window {window}"
    if not by_session:
        return Samples(window, f"no earlier run {where}: this run's figures alone"), None
    return Samples(window, f"earlier runs {where}", by_session, by_test), None


__all__ = [
    "FileTotals",
    "HistoryBaseline",
    "is_history_baseline",
    "newest_run",
    "read_baseline",
    "record_flaky",
    "record_run",
    "samples",
    "view",
]
