"""What `testgate gate` does last: append the run to the history, then write index.html (whose
trends include this run) and the badges. One call for the gate to make."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

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
    returns the files written."""
    if record:
        record_run(
            config.history_path,
            result=result,
            reports=reports,
            coverage=coverage,
            root=config.root,
            keep=config.history_keep,
            env=env,
        )
    html = write_html_report(
        config.reports_dir / "index.html",
        result=result,
        reports=reports,
        coverage=coverage,
        flaky=flaky,
        history=view(config.history_path),
        modules=config.coverage.modules,
    )
    badges = write_badges(
        config.reports_dir / "badges",
        result=result,
        reports=reports,
        coverage=coverage,
        flaky=flaky,
    )
    return [html, *badges]
