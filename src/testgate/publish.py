"""What `testgate gate` does last: append the run to the history, then write index.html (whose
trends include this run) and the badges. One call for the gate to make."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from testgate._machine import fingerprint
from testgate._safeio import OutputError
from testgate.checks import GateResult
from testgate.config import Config
from testgate.errors import TestgateError
from testgate.history import view
from testgate.history.record import record_run
from testgate.model import CoverageData, JUnitReport
from testgate.model.flaky import FlakyReport
from testgate.render.badges import write_badges
from testgate.render.html import write_html_report


@contextmanager
def warn_only(db_path: Path) -> Iterator[None]:
    """For what runs after a command's own reports are written: a broken history (or report
    folder) is a one-line warning on stderr, never a failure that hides those reports."""
    try:
        yield
    except (TestgateError, OSError, sqlite3.Error) as exc:
        text = exc.message if isinstance(exc, TestgateError) else f"{db_path}: {exc}"
        print(f"testgate: warning: {text}", file=sys.stderr)


def _warn(text: str) -> None:
    print(f"testgate: warning: {text}", file=sys.stderr)


def _reason(exc: BaseException, path: Path) -> str:
    return exc.message if isinstance(exc, TestgateError) else f"{path}: {exc}"


def publish(
    config: Config,
    *,
    result: GateResult,
    reports: Sequence[JUnitReport],
    coverage: CoverageData | None,
    flaky: FlakyReport | None,
    record: bool = True,
    env: Mapping[str, str] | None = None,
) -> list[Path]:
    """Record the run (unless `record` is false), write reports/index.html and badges/*.svg;
    returns the files written.

    The history is optional; the verdict pages are not: when the history cannot be written or
    read, index.html and the badges are still rewritten (without trends) after a one-line
    warning, and when they cannot be written either, the old ones are removed (and the warning
    says so) rather than left showing an earlier verdict."""
    history_db: Path | None = config.history_path
    if record:
        try:
            record_run(
                config.history_path,
                result=result,
                reports=reports,
                coverage=coverage,
                root=config.root,
                keep=config.history_keep,
                env=env,
                fingerprint=fingerprint(),
            )
        except (TestgateError, OSError, sqlite3.Error) as exc:
            _warn(f"{_reason(exc, config.history_path)} (history not recorded; the reports are)")
            history_db = None
    index = config.reports_dir / "index.html"
    written: list[Path] = []
    try:
        try:
            written.append(_html(index, config, result, reports, coverage, flaky, history_db))
        except (TestgateError, sqlite3.Error) as exc:
            if history_db is None or isinstance(exc, OutputError):
                raise
            _warn(f"{_reason(exc, history_db)} (index.html written without trends)")
            written.append(_html(index, config, result, reports, coverage, flaky, None))
        written += write_badges(
            config.reports_dir / "badges",
            result=result,
            reports=reports,
            coverage=coverage,
            flaky=flaky,
        )
    except (TestgateError, OSError) as exc:
        _remove_stale(config.reports_dir, exc)
        return written
    return written


def _html(
    index: Path,
    config: Config,
    result: GateResult,
    reports: Sequence[JUnitReport],
    coverage: CoverageData | None,
    flaky: FlakyReport | None,
    history_db: Path | None,
) -> Path:
    return write_html_report(
        index,
        result=result,
        reports=reports,
        coverage=coverage,
        flaky=flaky,
        history=view(history_db) if history_db is not None else None,
        modules=config.coverage.modules,
    )


def _remove_stale(reports_dir: Path, exc: BaseException) -> None:
    """index.html and badges that could not be rewritten would show an earlier verdict."""
    gone = []
    for path in (reports_dir / "index.html", *sorted((reports_dir / "badges").glob("*.svg"))):
        try:
            path.unlink()
            gone.append(path.name)
        except FileNotFoundError:
            continue
        except OSError:
            continue
    removed = f"; removed the stale {', '.join(gone)}" if gone else ""
    _warn(f"{_reason(exc, reports_dir)}{removed}")
