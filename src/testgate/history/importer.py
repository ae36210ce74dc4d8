"""`testgate history import DIR` and `export`: reports folders in, JSON format 1 out."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from testgate import __version__
from testgate._safeio import read_json
from testgate.checks import CheckResult, GateResult, Status
from testgate.errors import InputError
from testgate.history.queries import runs
from testgate.history.record import Provenance, record_flaky, record_run
from testgate.model import CoverageData
from testgate.model.flaky import FlakyReport
from testgate.read.coverage import find_data_files, load_project_coverage
from testgate.read.junit import read_junit


def _read_json(path: Path) -> Any:
    return read_json(path)


def read_gate_json(path: Path) -> GateResult:
    """gate.json (format 1) back into a GateResult."""
    data = _read_json(path)
    try:
        if data["meta"]["format"] != 1:
            raise InputError(f"{path}: gate.json format {data['meta']['format']!r} is not 1")
        checks = tuple(
            CheckResult(
                id=str(c["id"]),
                status=Status(c["status"]),
                message=str(c.get("message", "")),
                actual=c.get("actual"),
                limit=c.get("limit"),
            )
            for c in data["checks"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a gate.json of format 1 ({exc!s})") from None
    return GateResult(checks)


def _coverage(folder: Path, root: Path) -> CoverageData | None:
    if not (folder / "coverage.json").exists() and not find_data_files(folder / "coverage"):
        return None
    return load_project_coverage(folder, root=root)


def _run_time(folder: Path) -> str:
    """When the imported run happened: its gate.json (or newest JUnit file) modification time."""
    candidates = [folder / "gate.json", *sorted((folder / "junit").glob("*.xml"))]
    mtimes = [p.stat().st_mtime for p in candidates if p.exists()]
    stamp = dt.datetime.fromtimestamp(max(mtimes), dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def import_reports(
    db_path: Path,
    folder: Path,
    *,
    root: Path,
    origin: Provenance | None = None,
    keep: int | None = None,
    env: Mapping[str, str] | None = None,
) -> list[int]:
    """Record a reports folder (a CI artifact): its junit/*.xml, coverage and gate.json as one
    run, and its flaky.json as a hunt. Returns the new run ids.
    """
    if not folder.is_dir():
        raise InputError(f"{folder}: no such reports folder")
    junit_files = sorted((folder / "junit").glob("*.xml"))
    if not junit_files:
        raise InputError(f"{folder}: no junit/*.xml to import; is this a testgate reports folder?")
    reports = [read_junit(p, root=root) for p in junit_files]
    gate = folder / "gate.json"
    result = read_gate_json(gate) if gate.exists() else _verdict_from_tests(reports)
    time = _run_time(folder)
    ids = [
        record_run(
            db_path,
            result=result,
            reports=reports,
            coverage=_coverage(folder, root),
            root=root,
            kind="import",
            keep=keep,
            env=env,
            time=time,
            source=str(folder),
            origin=origin,
        )
    ]
    flaky = folder / "flaky.json"
    if flaky.exists():
        report = FlakyReport.from_json(_read_json(flaky), str(flaky))
        ids.append(
            record_flaky(db_path, report, root, keep=keep, env=env, time=time, origin=origin)
        )
    return ids


def _verdict_from_tests(reports: Any) -> GateResult:
    """No gate.json: the verdict is whether every test passed (a check of its own)."""
    failed = sum(r.totals.failed + r.totals.errors for r in reports)
    status = Status.FAIL if failed else Status.PASS
    message = f"{failed} tests failed" if failed else "every test passed"
    return GateResult((CheckResult("tests.failed", status, message, actual=failed, limit=0),))


def export(
    db: sqlite3.Connection, *, branch: str | None = None, last: int | None = None
) -> dict[str, Any]:
    """The history as JSON format 1 (every run, infrastructure failures included)."""
    return {
        "meta": {"format": 1, "tool": "testgate", "version": __version__},
        "runs": [
            {
                "id": r.id,
                "time": r.time,
                "commit": r.commit,
                "branch": r.branch,
                "passed": r.passed,
                "tests": r.tests,
                "failed": r.failed,
                "flaky": r.flaky,
                "coverage": round(r.coverage, 2) if r.coverage is not None else None,
                "seconds": round(r.seconds, 3),
            }
            for r in runs(db, branch=branch, last=last, include_infra=True)
        ],
    }
