"""Every file `testgate gate` reads, read once: JUnit reports, coverage data and when it was
written, a baseline, flaky.json, shard manifests (`testgate.read.shards`), git's diff
(`testgate.read.diff`) and test sources for annotation lines. The checks judge the values."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from testgate import _safeio as safeio
from testgate.errors import InputError
from testgate.model import Case, CoverageData, JUnitReport
from testgate.model.durations import file_of, per_test
from testgate.model.gate import STALE_SLACK, Baseline, CoverageBaseline
from testgate.read.coverage import find_data_files, load_project_coverage
from testgate.read.junit import read_junit


def rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def junit_files(reports_dir: Path) -> list[Path]:
    folder = reports_dir / "junit"
    return sorted(folder.glob("*.xml")) if folder.is_dir() else []


def read_reports(
    files: Collection[Path],
    root: Path,
    *,
    salvage: bool = True,
    within: tuple[Path, ...] | None = None,
) -> tuple[list[JUnitReport], list[str]]:
    """Truncated files are salvaged (and then judged by the inventory check). `within`: the
    folders files found by name (not named by the user) may resolve into."""
    reports, errors = [], []
    for path in files:
        try:
            reports.append(read_junit(path, root=root, salvage=salvage, within=within))
        except InputError as exc:
            errors.append(exc.message)
    return reports, errors


def run_started(reports: list[JUnitReport]) -> float | None:
    """When the latest test run began: its file's mtime minus the run's own duration."""
    starts = []
    for r in reports:
        try:
            starts.append(os.path.getmtime(r.path) - r.seconds)
        except OSError:
            continue
    return max(starts, default=None)


def coverage_inputs(reports_dir: Path) -> list[Path]:
    """coverage.json and the data files under coverage/ (what load_project_coverage reads)."""
    found = [reports_dir / "coverage.json"] if (reports_dir / "coverage.json").is_file() else []
    return found + find_data_files(reports_dir / "coverage")


def measured(found: list[Path]) -> tuple[float, Path]:
    """When the coverage was measured: the newest raw data file. The combined `.coverage`
    and coverage.json are derived (and rewritten by combining), so they date it only when
    they are all there is."""
    raw = [p for p in found if p.name.startswith(".coverage.")]
    combined = [p for p in found if p.name == ".coverage"]
    written, newest = max((p.stat().st_mtime, p) for p in (raw or combined or found))
    return written, newest


def changed_since(data: CoverageData, root: Path, written: float) -> list[str]:
    """Measured source files modified after the newest coverage data was written."""
    changed = []
    for name in sorted(data.files):
        try:
            if (root / name).stat().st_mtime > written + STALE_SLACK:
                changed.append(name)
        except OSError:
            continue  # a file coverage.py could analyse but we cannot stat: nothing to compare
    return changed


def load_coverage(reports_dir: Path, root: Path) -> CoverageData:
    return load_project_coverage(reports_dir, root=root)


def read_baseline(path: Path, root: Path) -> Baseline:
    """A previous reports/ folder, or its gate.json, coverage.json or durations.json."""
    shown = rel(path, root)
    if not path.exists():
        raise InputError(
            f"{shown}: baseline not found; check --baseline / [tool.testgate] baseline"
        )
    folder = path if path.is_dir() else path.parent
    names = {"gate.json", "coverage.json", "durations.json"}
    if path.is_file() and path.name not in names:
        if path.suffix == ".json":
            doc = read_json(path)
            kind = (
                "durations"
                if isinstance(doc.get("tests"), dict)
                else "gate"
                if "checks" in doc
                else "coverage"
            )
        else:
            raise InputError(
                f"{shown}: not a baseline; give a reports/ folder or its gate.json, "
                "coverage.json or durations.json"
            )
    else:
        kind = path.stem if path.is_file() else ""
    cov: CoverageBaseline | None = None
    durations: Mapping[str, float] | None = None
    if kind in ("coverage", ""):
        cov_file = path if kind == "coverage" else folder / "coverage.json"
        if cov_file.is_file():
            cov = _coverage_baseline(cov_file, root)
    if cov is None and kind in ("gate", ""):
        gate_file = path if kind == "gate" else folder / "gate.json"
        if gate_file.is_file():
            cov = _gate_baseline(gate_file, root)
    if kind in ("durations", "gate", ""):
        dur_file = path if kind == "durations" else folder / "durations.json"
        if dur_file.is_file():
            durations = _durations_baseline(dur_file, root)
        elif kind == "" and junit_files(folder):
            reports, errors = read_reports(junit_files(folder), root, salvage=False)
            if errors:
                raise InputError(f"baseline {errors[0]}")
            durations = per_test(reports)
    if cov is None and durations is None:
        raise InputError(
            f"{shown}: no coverage.json, gate.json, durations.json or junit/ to compare with"
        )
    return Baseline(shown, cov, durations)


def read_json(path: Path, within: tuple[Path, ...] | None = None) -> dict[str, Any]:
    doc = safeio.read_json(path, within=within)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object")
    return doc


def _coverage_baseline(path: Path, root: Path) -> CoverageBaseline:
    """coverage.py's JSON report: totals.percent_covered and per-file summaries."""
    doc = read_json(path)
    try:
        files = {
            name: (int(f["summary"]["num_statements"]), int(f["summary"]["missing_lines"]))
            for name, f in doc["files"].items()
        }
        pc = float(doc["totals"]["percent_covered"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError(f"{path}: not a coverage.py JSON report (coverage json)") from None
    return CoverageBaseline(pc, files, rel(path, root))


def _gate_baseline(path: Path, root: Path) -> CoverageBaseline | None:
    doc = read_json(path)
    cov = doc.get("coverage")
    where = rel(path, root)
    try:
        if isinstance(cov, dict):
            files = {str(p): (int(v[0]), int(v[1])) for p, v in cov["files"].items()}
            return CoverageBaseline(float(cov["percent"]), files, where)
        for check in doc["checks"]:
            if check["id"] == "coverage.total" and check.get("actual") is not None:
                return CoverageBaseline(float(check["actual"]), None, where)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        raise InputError(f"{path}: not a testgate gate.json (format 1)") from None
    return None


def _durations_baseline(path: Path, root: Path) -> dict[str, float]:
    doc = read_json(path)
    tests = doc.get("tests")
    if not isinstance(tests, dict) or not all(isinstance(v, (int, float)) for v in tests.values()):
        raise InputError(f"{rel(path, root)}: not a testgate durations.json (format 1)")
    return {str(k): float(v) for k, v in tests.items()}


def line_finder(root: Path) -> Callable[[Case], int | None]:
    """The line of a test's `def`, for annotations on slow tests."""

    @functools.lru_cache(maxsize=1024)
    def source(path: str) -> list[str]:
        # A path from an artifact: only a regular file of the project, of a sane size.
        try:
            return safeio.read_text(
                root / path, within=(root,), limit=safeio.MAX_SOURCE_BYTES, errors="replace"
            ).splitlines()
        except InputError:
            return []

    def line_of(case: Case) -> int | None:
        path = file_of(case)
        # the parameters first: they may hold "::" themselves (test_x[a::b])
        name = case.node_id.split("[", 1)[0].rsplit("::", 1)[-1]
        pattern = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(")
        for n, text in enumerate(source(path), 1):
            if pattern.match(text):
                return n
        return None

    return line_of


def measured_under_coverage(reports_dir: Path) -> tuple[str, ...]:
    """The sessions whose record (reports/sessions/NAME.json, written by the nox sessions) says
    their tests ran under coverage: their durations are instrumented times."""
    names = []
    for path in sorted((reports_dir / "sessions").glob("*.json")):
        try:
            record = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("instrumented") is True:
            names.append(path.stem)
    return tuple(names)
