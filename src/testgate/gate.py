"""`run_gate`: read every input under reports/, run every configured check, one verdict.

The file system work (finding, reading, dating inputs; git for the diff) happens here; the
checks in `testgate.checks.*` are pure functions of what was read.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from testgate import _safeio as safeio
from testgate import history
from testgate.checks import CheckResult, GateResult, Status
from testgate.checks import coverage as coverage_checks
from testgate.checks import diff as diff_checks
from testgate.checks import durations as duration_checks
from testgate.checks import flaky_new as flaky_new_checks
from testgate.checks import inputs as input_checks
from testgate.checks.coverage import CoverageBaseline
from testgate.checks.flaky import check_flaky
from testgate.checks.inputs import STALE_SLACK
from testgate.checks.inventory import check_inventory
from testgate.checks.shards import check_junit_dir
from testgate.config import Config
from testgate.errors import InputError, TestgateError
from testgate.history.record import provenance
from testgate.model import Case, CoverageData, JUnitReport
from testgate.model.checkids import never_informational
from testgate.model.flaky import FlakyReport
from testgate.read.coverage import find_data_files, load_project_coverage
from testgate.read.junit import read_junit

ALL = ("tests", "coverage", "durations", "flaky")


@dataclass(frozen=True)
class Baseline:
    """A previous run to compare with: its coverage and its test durations, when it has them."""

    source: str
    coverage: CoverageBaseline | None = None
    durations: Mapping[str, float] | None = None


@dataclass(frozen=True)
class GateRun:
    """A gate result with the inputs it was computed from (for reports, history, badges)."""

    result: GateResult
    reports: tuple[JUnitReport, ...]
    coverage: CoverageData | None
    flaky: FlakyReport | None
    baseline: Baseline | None


def run_gate(config: Config, *, baseline: str | os.PathLike[str] | None = None) -> GateResult:
    return evaluate(config, baseline=baseline).result


def coverage_needed(config: Config) -> bool:
    c = config.coverage
    return bool(
        c.fail_under is not None
        or c.fail_under_branches is not None
        or c.modules
        or c.max_drop is not None
        or c.diff_fail_under is not None
    )


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def junit_files(reports_dir: Path) -> list[Path]:
    folder = reports_dir / "junit"
    return sorted(folder.glob("*.xml")) if folder.is_dir() else []


def read_reports(
    config: Config, files: Collection[Path] | None = None, *, salvage: bool = True
) -> tuple[list[JUnitReport], list[str]]:
    """Truncated files are salvaged (and then judged by the inventory check)."""
    reports, errors = [], []
    for path in files if files is not None else junit_files(config.reports_dir):
        try:
            reports.append(
                read_junit(path, root=config.root, salvage=salvage, within=_trusted(config))
            )
        except InputError as exc:
            errors.append(exc.message)
    return reports, errors


def _trusted(config: Config) -> tuple[Path, ...]:
    """Where files found by name (not named by the user) may lead: the project and the
    reports folder the configuration or command line named."""
    return (config.root, config.reports_dir)


def _run_started(reports: list[JUnitReport]) -> float | None:
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


def _coverage(
    config: Config, reports: list[JUnitReport]
) -> tuple[CoverageData | None, CheckResult | None]:
    needed = coverage_needed(config)
    found = coverage_inputs(config.reports_dir)
    if not found and not needed:
        return None, None
    where = _rel(config.reports_dir, config.root)
    if not found:
        error = (
            f"no coverage data in {where} (coverage.json or coverage/.coverage*) but "
            "[tool.testgate.coverage] sets budgets; run the tests with coverage first "
            "(`nox -s unit` or `coverage run --parallel-mode --data-file="
            f"{where}/coverage/.coverage -m pytest`)"
        )
        return None, input_checks.check_coverage(error)
    written, newest = measured(found)
    try:
        data = load_coverage(config.reports_dir, config.root)
    except InputError as exc:
        check = input_checks.check_coverage(exc.message)
        return None, check if needed else replace(check, status=Status.WARN)
    read_from = _rel(Path(data.source), config.root) if data.source else None
    raw = sum(p.name.startswith(".coverage.") for p in found)
    if read_from is not None and Path(read_from).name == ".coverage" and raw:
        read_from += f" (combined from {raw} data file{'s' if raw > 1 else ''})"
    check = input_checks.check_coverage(
        None,
        source=_rel(newest, config.root),
        written=written,
        run_started=_run_started(reports),
        read_from=read_from,
        changed=changed_since(data, config.root, written),
    )
    if check.status is Status.FAIL and not needed:
        check = replace(check, status=Status.WARN)
    return data, check


def load_baseline(path: Path, config: Config) -> Baseline:
    """A previous reports/ folder, or its gate.json, coverage.json or durations.json."""
    shown = _rel(path, config.root)
    if not path.exists():
        raise InputError(
            f"{shown}: baseline not found; check --baseline / [tool.testgate] baseline"
        )
    folder = path if path.is_dir() else path.parent
    names = {"gate.json", "coverage.json", "durations.json"}
    if path.is_file() and path.name not in names:
        if path.suffix == ".json":
            doc = _json(path)
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
            cov = _coverage_baseline(cov_file, config)
    if cov is None and kind in ("gate", ""):
        gate_file = path if kind == "gate" else folder / "gate.json"
        if gate_file.is_file():
            cov = _gate_baseline(gate_file, config)
    if kind in ("durations", "gate", ""):
        dur_file = path if kind == "durations" else folder / "durations.json"
        if dur_file.is_file():
            durations = _durations_baseline(dur_file, config)
        elif kind == "" and junit_files(folder):
            reports, errors = read_reports(config, junit_files(folder), salvage=False)
            if errors:
                raise InputError(f"baseline {errors[0]}")
            durations = duration_checks.per_test(reports)
    if cov is None and durations is None:
        raise InputError(
            f"{shown}: no coverage.json, gate.json, durations.json or junit/ to compare with"
        )
    return Baseline(shown, cov, durations)


def _json(path: Path, within: tuple[Path, ...] | None = None) -> dict[str, Any]:
    doc = safeio.read_json(path, within=within)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object")
    return doc


def _coverage_baseline(path: Path, config: Config) -> CoverageBaseline:
    """coverage.py's JSON report: totals.percent_covered and per-file summaries."""
    doc = _json(path)
    try:
        files = {
            name: (int(f["summary"]["num_statements"]), int(f["summary"]["missing_lines"]))
            for name, f in doc["files"].items()
        }
        pc = float(doc["totals"]["percent_covered"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError(f"{path}: not a coverage.py JSON report (coverage json)") from None
    return CoverageBaseline(pc, files, _rel(path, config.root))


def _gate_baseline(path: Path, config: Config) -> CoverageBaseline | None:
    doc = _json(path)
    cov = doc.get("coverage")
    where = _rel(path, config.root)
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


def _durations_baseline(path: Path, config: Config) -> dict[str, float]:
    doc = _json(path)
    tests = doc.get("tests")
    if not isinstance(tests, dict) or not all(isinstance(v, (int, float)) for v in tests.values()):
        raise InputError(f"{_rel(path, config.root)}: not a testgate durations.json (format 1)")
    return {str(k): float(v) for k, v in tests.items()}


def _line_finder(root: Path) -> Callable[[Case], int | None]:
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
        path = duration_checks.file_of(case)
        # the parameters first: they may hold "::" themselves (test_x[a::b])
        name = case.node_id.split("[", 1)[0].rsplit("::", 1)[-1]
        pattern = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(")
        for n, text in enumerate(source(path), 1):
            if pattern.match(text):
                return n
        return None

    return line_of


def _flaky(config: Config) -> tuple[FlakyReport | None, list[CheckResult]]:
    path = config.reports_dir / "flaky.json"
    new = _flaky_new(config)
    if not path.exists():
        return None, new
    try:
        doc = _json(path, _trusted(config))
    except InputError as exc:
        return None, [input_checks.check_input("inputs.flaky", exc.message, ""), *new]
    shown = _rel(path, config.root)
    try:
        report = FlakyReport.from_json(doc, shown)
    except InputError as exc:  # JSON, but not a flake-hunt report: an input error, exit 2
        return None, [input_checks.check_input("inputs.flaky", exc.message, ""), *new]
    checks = [input_checks.check_input("inputs.flaky", None, f"{shown} read")]
    checks += check_flaky(report, config.flaky, today=dt.date.today())
    return report, checks + new


def _flaky_new(config: Config) -> list[CheckResult]:
    """The burn-in of new tests (`testgate flaky --new`), when one ran."""
    path = config.reports_dir / "flaky-new.json"
    if not path.exists():
        return []
    try:
        report = FlakyReport.from_json(_json(path, _trusted(config)), _rel(path, config.root))
    except InputError as exc:
        return [CheckResult(flaky_new_checks.CHECK_ID, Status.FAIL, exc.message)]
    commit = provenance(config.root).commit
    today = dt.date.today()
    return [flaky_new_checks.check_flaky_new(report, config.flaky, today=today, commit=commit)]


def informational(config: Config, checks: list[CheckResult]) -> list[CheckResult]:
    """Informational checks warn instead of failing; inputs never do (fail closed), nor
    failing tests (`informational = ["tests"]` covers the other tests.* checks)."""
    out = []
    for c in checks:
        if (
            c.status is Status.FAIL
            and not never_informational(c.id)
            and config.is_informational(c.id)
        ):
            c = replace(c, status=Status.WARN, message=c.message + " (informational)")
        out.append(c)
    return out


def evaluate(
    config: Config,
    *,
    baseline: str | os.PathLike[str] | None = None,
    which: Collection[str] = ALL,
) -> GateRun:
    """Every check of the areas in `which` ("tests", "coverage", "durations", "flaky")."""
    checks: list[CheckResult] = []
    files = junit_files(config.reports_dir)
    reports, errors = read_reports(config, files)
    if "tests" in which or "durations" in which:
        checks.append(
            input_checks.check_junit(
                _rel(config.reports_dir / "junit", config.root), len(files), errors
            )
        )
    if "tests" in which:
        shards = check_junit_dir(config.reports_dir / "junit")
        if shards is not None:
            checks.append(shards)

    base: Baseline | None = None
    base_path = baseline if baseline is not None else config.baseline
    needs_base = ("coverage" in which and config.coverage.max_drop is not None) or (
        "durations" in which and config.durations.max_regression is not None
    )
    if base_path is not None and (needs_base or baseline is not None):
        path = Path(base_path)
        try:
            if history.is_history_baseline(str(base_path)):
                base = history.gate_baseline(str(base_path), config)
            else:
                base = load_baseline(path if path.is_absolute() else config.root / path, config)
            checks.append(
                input_checks.check_input("inputs.baseline", None, f"baseline {base.source}")
            )
        except TestgateError as exc:  # a folder that isn't one, or history:BRANCH with no run
            checks.append(input_checks.check_input("inputs.baseline", exc.message, ""))

    line_of = _line_finder(config.root)
    if "tests" in which and reports:
        checks += check_inventory(reports, config.tests, line_of=line_of)

    data: CoverageData | None = None
    if "coverage" in which:
        data, input_check = _coverage(config, reports)
        if input_check is not None:
            checks.append(input_check)
        if data is not None:
            checks += coverage_checks.check_coverage(
                data,
                config.coverage,
                base.coverage if base else None,
                given=base.source if base else None,
            )
            if config.coverage.diff_fail_under is not None:
                checks.append(_diff(config, data, config.coverage.diff_fail_under))

    if "durations" in which and reports:
        checks += duration_checks.check_durations(
            reports,
            config.durations,
            base.durations if base else None,
            line_of=line_of,
            given=base.source if base else None,
        )

    flaky: FlakyReport | None = None
    if "flaky" in which:
        flaky, flaky_checks = _flaky(config)
        checks += flaky_checks

    result = GateResult(tuple(informational(config, checks)))
    return GateRun(result, tuple(reports), data, flaky, base)


def _diff(config: Config, data: CoverageData, limit: float) -> CheckResult:
    try:
        changed = diff_checks.changed_lines(config.root, config.coverage.diff_base, data.files)
    except diff_checks.GitError as exc:
        return diff_checks.diff_error(f"diff coverage: {exc}", limit)
    parsed = diff_checks.source_lines(config.root, [p for p in changed.lines if p in data.files])
    return diff_checks.check_diff(data, changed, limit, parsed)
