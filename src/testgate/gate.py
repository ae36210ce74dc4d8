"""`testgate gate` as a pipeline: `gather` reads every input once (through `testgate.read`),
`judge` runs the pure checks of `testgate.checks` over those values, and the command renders
the `GateRun` it gets back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Collection, Mapping
from pathlib import Path

from testgate import history
from testgate._machine import fingerprint
from testgate.checks import CheckResult, GateResult, Status
from testgate.checks import coverage as coverage_checks
from testgate.checks import durations as duration_checks
from testgate.checks import flaky_new as flaky_new_checks
from testgate.checks import inputs as input_checks
from testgate.checks.diff import check_diff, diff_error
from testgate.checks.flaky import check_flaky, flake_rates
from testgate.checks.informational import downgrade
from testgate.checks.inventory import check_inventory
from testgate.checks.shards import check_shard_folder
from testgate.config import Config
from testgate.errors import GitError, InputError, TestgateError
from testgate.history.record import provenance
from testgate.model import JUnitReport
from testgate.model.diff import Parsed
from testgate.model.flaky import FlakyReport
from testgate.model.gate import Baseline, CoverageInput, FlakyInput, GateInputs, GateRun
from testgate.read import diff as diff_reader
from testgate.read import inputs as reader
from testgate.read import shards as shard_reader

ALL = ("tests", "coverage", "durations", "flaky")


def run_gate(config: Config, *, baseline: str | os.PathLike[str] | None = None) -> GateResult:
    return evaluate(config, baseline=baseline).result


def evaluate(
    config: Config,
    *,
    baseline: str | os.PathLike[str] | None = None,
    which: Collection[str] = ALL,
) -> GateRun:
    """Every check of the areas in `which` ("tests", "coverage", "durations", "flaky")."""
    inputs = gather(config, baseline=baseline, which=which)
    result = judge(inputs, config, which)
    flaky = inputs.flaky.report if inputs.flaky is not None else None
    return GateRun(result, inputs.reports, inputs.coverage_data, flaky, inputs.baseline)


def coverage_needed(config: Config) -> bool:
    c = config.coverage
    return bool(
        c.fail_under is not None
        or c.fail_under_branches is not None
        or c.modules
        or c.max_drop is not None
        or c.diff_fail_under is not None
    )


# -- reading: every file once ------------------------------------------------------------------


def gather(
    config: Config,
    *,
    baseline: str | os.PathLike[str] | None = None,
    which: Collection[str] = ALL,
) -> GateInputs:
    root, reports_dir = config.root, config.reports_dir
    files = reader.junit_files(reports_dir)
    reports, errors = reader.read_reports(files, root, within=(root, reports_dir))
    d = config.durations
    judged = d.max_test is not None or d.paths or d.max_session or d.max_regression
    samples, problem = (
        history.samples(config, reports, fingerprint())
        if "durations" in which and reports and judged
        else (None, None)
    )
    base, base_error = _baseline(config, baseline, which)
    coverage = _coverage(config, reports) if "coverage" in which else None
    diff = diff_error_text = None
    parsed: Parsed = {}
    data = coverage.data if coverage is not None else None
    if data is not None and config.coverage.diff_fail_under is not None:
        try:
            diff = diff_reader.changed_lines(root, config.coverage.diff_base, data.files)
        except GitError as exc:
            diff_error_text = f"diff coverage: {exc.message}"
        else:
            parsed = diff_reader.source_lines(root, [p for p in diff.lines if p in data.files])
    return GateInputs(
        junit_dir=reader.rel(reports_dir / "junit", root),
        junit_files=len(files),
        junit_errors=tuple(errors),
        reports=tuple(reports),
        shards=shard_reader.scan(reports_dir / "junit") if "tests" in which else None,
        baseline=base,
        baseline_error=base_error,
        coverage=coverage,
        diff=diff,
        diff_error=diff_error_text,
        parsed=parsed,
        flaky=_flaky(config, "flaky.json") if "flaky" in which else None,
        flaky_new=_flaky(config, "flaky-new.json") if "flaky" in which else None,
        commit=_commit(config) if "flaky" in which else None,
        line_of=reader.line_finder(root),
        under_coverage=reader.measured_under_coverage(reports_dir) if "durations" in which else (),
        samples=samples,
        history_problem=problem,
    )


def load_baseline(spec: str | os.PathLike[str], *, root: Path, history_path: Path) -> Baseline:
    """The one way a baseline is named: `history:BRANCH` (the newest run on BRANCH in the
    history), or a previous reports/ folder or its gate.json, coverage.json or durations.json."""
    if history.is_history_baseline(str(spec)):
        return history.read_baseline(str(spec), history_path)
    path = Path(spec) if Path(spec).is_absolute() else root / spec
    return reader.read_baseline(path, root)


def _baseline(
    config: Config, given: str | os.PathLike[str] | None, which: Collection[str]
) -> tuple[Baseline | None, str | None]:
    """The baseline when a check needs one or the command line names one; or why it failed."""
    spec = given if given is not None else config.baseline
    needs = ("coverage" in which and config.coverage.max_drop is not None) or (
        "durations" in which and config.durations.max_regression is not None
    )
    if spec is None or not (needs or given is not None):
        return None, None
    try:
        return load_baseline(spec, root=config.root, history_path=config.history_path), None
    except TestgateError as exc:  # a folder that isn't one, or history:BRANCH with no run
        return None, exc.message


def _coverage(config: Config, reports: list[JUnitReport]) -> CoverageInput | None:
    needed = coverage_needed(config)
    found = reader.coverage_inputs(config.reports_dir)
    if not found and not needed:
        return None
    where = reader.rel(config.reports_dir, config.root)
    if not found:
        error = (
            f"no coverage data in {where} (coverage.json or coverage/.coverage*) but "
            "[tool.testgate.coverage] sets budgets; run the tests with coverage first "
            "(`nox -s unit` or `coverage run --parallel-mode --data-file="
            f"{where}/coverage/.coverage -m pytest`)"
        )
        return CoverageInput(needed=needed, error=error)
    written, newest = reader.measured(found)
    try:
        data = reader.load_coverage(config.reports_dir, config.root)
    except InputError as exc:
        return CoverageInput(needed=needed, error=exc.message)
    read_from = reader.rel(Path(data.source), config.root) if data.source else None
    raw = sum(p.name.startswith(".coverage.") for p in found)
    if read_from is not None and Path(read_from).name == ".coverage" and raw:
        read_from += f" (combined from {raw} data file{'s' if raw > 1 else ''})"
    return CoverageInput(
        needed=needed,
        data=data,
        source=reader.rel(newest, config.root),
        written=written,
        run_started=reader.run_started(reports),
        read_from=read_from,
        changed=tuple(reader.changed_since(data, config.root, written)),
    )


def _commit(config: Config) -> str | None:
    """The commit under test, when a burn-in report must match it."""
    if not (config.reports_dir / "flaky-new.json").exists():
        return None
    return provenance(config.root).commit


def _flaky(config: Config, name: str) -> FlakyInput | None:
    """flaky.json (the hunt) or flaky-new.json (the burn-in of new tests, `flaky --new`)."""
    path = config.reports_dir / name
    if not path.exists():
        return None
    shown = reader.rel(path, config.root)
    try:
        doc = reader.read_json(path, within=(config.root, config.reports_dir))
        return FlakyInput(shown, report=FlakyReport.from_json(doc, shown))
    except InputError as exc:  # unreadable, or JSON but not a flake-hunt report: exit 2
        return FlakyInput(shown, unreadable=exc.message)


def check_junit_dir(
    junit_dir: Path, *, expected: Mapping[str, int] | None = None
) -> CheckResult | None:
    """The shard check of one reports/junit folder, read and judged (what CI scripts call)."""
    return check_shard_folder(shard_reader.scan(junit_dir), expected=expected)


# -- judging: pure checks over what was read ---------------------------------------------------


def judge(inputs: GateInputs, config: Config, which: Collection[str] = ALL) -> GateResult:
    checks: list[CheckResult] = []
    reports = list(inputs.reports)
    if "tests" in which or "durations" in which:
        checks.append(
            input_checks.check_junit(inputs.junit_dir, inputs.junit_files, inputs.junit_errors)
        )
    if "tests" in which:
        shards = check_shard_folder(inputs.shards)
        if shards is not None:
            checks.append(shards)
    base = inputs.baseline
    if base is not None:
        checks.append(input_checks.check_input("inputs.baseline", None, f"baseline {base.source}"))
    elif inputs.baseline_error is not None:
        checks.append(input_checks.check_input("inputs.baseline", inputs.baseline_error, ""))
    if "tests" in which and reports:
        checks += check_inventory(
            reports,
            config.tests,
            line_of=inputs.line_of,
            quarantine=config.flaky.quarantine,
            today=dt.date.today(),
            rates=_rates(inputs),
        )
    if "coverage" in which and inputs.coverage is not None:
        checks += _coverage_checks(inputs.coverage, inputs, config)
    if "durations" in which and reports:
        if inputs.history_problem is not None:
            why = f"{inputs.history_problem}; duration budgets judged on this run's figures alone"
            checks.append(CheckResult("inputs.history", Status.WARN, why))
        checks += duration_checks.check_durations(
            reports,
            config.durations,
            base.durations if base else None,
            line_of=inputs.line_of,
            given=base.source if base else None,
            samples=inputs.samples,
        )
        if inputs.under_coverage:
            checks = [
                dataclasses.replace(c, message=c.message + " (times measured under coverage)")
                if c.id.startswith("durations.")
                else c
                for c in checks
            ]
    if "flaky" in which and inputs.flaky is not None:
        checks += _flaky_checks(inputs.flaky, config)
    if "flaky" in which and inputs.flaky_new is not None:
        checks.append(_flaky_new_check(inputs.flaky_new, inputs.commit, config))
    return GateResult(tuple(informational(config, checks)))


def _coverage_checks(cov: CoverageInput, inputs: GateInputs, config: Config) -> list[CheckResult]:
    check = input_checks.check_coverage(
        cov.error,
        source=cov.source,
        written=cov.written,
        run_started=cov.run_started,
        read_from=cov.read_from,
        changed=cov.changed,
    )
    if check.status is Status.FAIL and not cov.needed:
        check = dataclasses.replace(check, status=Status.WARN)
    checks = [check]
    if cov.data is None:
        return checks
    base = inputs.baseline
    checks += coverage_checks.check_coverage(
        cov.data,
        config.coverage,
        base.coverage if base else None,
        given=base.source if base else None,
    )
    limit = config.coverage.diff_fail_under
    if limit is not None:
        if inputs.diff is None:
            checks.append(diff_error(inputs.diff_error or "diff coverage: no diff", limit))
        else:
            checks.append(check_diff(cov.data, inputs.diff, limit, inputs.parsed))
    return checks


def _rates(inputs: GateInputs) -> dict[str, str]:
    """Known flakes' rates from the last hunt; none from a flaky.json that cannot be read (the
    flaky checks report the file itself)."""
    report = inputs.flaky.report if inputs.flaky is not None else None
    return flake_rates(report.to_json()) if report is not None else {}


def _unreadable(flaky: FlakyInput) -> CheckResult:
    """A flake-hunt report that is not one (truncated, not JSON, a FIFO): an input error."""
    return CheckResult("inputs.flaky", Status.FAIL, flaky.unreadable or flaky.source)


def _flaky_checks(flaky: FlakyInput, config: Config) -> list[CheckResult]:
    if flaky.report is None:
        return [_unreadable(flaky)]
    checks = [input_checks.check_input("inputs.flaky", None, f"{flaky.source} read")]
    return checks + check_flaky(flaky.report, config.flaky, today=dt.date.today())


def _flaky_new_check(new: FlakyInput, commit: str | None, config: Config) -> CheckResult:
    if new.report is None:
        return _unreadable(new)
    today = dt.date.today()
    return flaky_new_checks.check_flaky_new(new.report, config.flaky, today=today, commit=commit)


def informational(config: Config, checks: list[CheckResult]) -> list[CheckResult]:
    return downgrade(checks, config.is_informational)
