"""`testgate init`: a `[tool.testgate]` block from the project's current numbers.

A team starts from a gate that passes today: coverage floors rounded down (total, branches,
each top-level package), the test count as the minimum, today's skipped and xfailed as the
maxima, and duration limits with headroom over the slowest test and each session. Raising the
numbers as the suite improves is the ratchet.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from testgate import _atomic
from testgate.checks.durations import sessions
from testgate.checks.inventory import per_version
from testgate.config import Config, find_project, given_reports
from testgate.errors import ConfigError, ExitCode, InputError
from testgate.model import CoverageData, CoverageTotals, FileCoverage, JUnitReport, Totals
from testgate.read.inputs import (
    coverage_inputs,
    junit_files,
    load_coverage,
    measured_under_coverage,
    read_reports,
)

HEADROOM = 1.5
"""Duration limits: today's time times this, so ordinary noise does not fail the gate."""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "init",
        help="write a [tool.testgate] block from the project's current numbers",
        description=(
            "Read the reports of a test run (run `nox -s unit` or the whole `nox` first) and "
            "print a [tool.testgate] block that passes today: coverage floors rounded down, "
            "the test count as the minimum, duration limits with headroom. --write appends "
            "it to pyproject.toml."
        ),
    )
    parser.add_argument(
        "--reports", metavar="DIR", help="the reports folder (default: [tool.testgate] reports)"
    )
    parser.add_argument(
        "--write", action="store_true", help="append the block to the project's pyproject.toml"
    )
    parser.add_argument(
        "--headroom",
        type=float,
        default=HEADROOM,
        metavar="F",
        help=f"duration limits are today's times times F (default {HEADROOM:g})",
    )
    parser.set_defaults(func=run)


def _floor(pc: float) -> int:
    return math.floor(pc)


def _ceil(seconds: float, headroom: float, floor: float) -> float:
    """Seconds with headroom (times `headroom`, at least `floor` more: short times are the
    noisiest), rounded up to a tenth."""
    return math.ceil(max(seconds * headroom, seconds + floor) * 10) / 10


def top_level_packages(data: CoverageData) -> dict[str, CoverageTotals]:
    """Coverage per top-level package: `src/pkg/**` (or `pkg/**` without a src layout)."""
    groups: dict[str, list[FileCoverage]] = {}
    for path, file in data.files.items():
        parts = path.split("/")
        depth = 2 if parts[0] == "src" and len(parts) > 2 else 1
        if len(parts) <= depth:
            continue  # a module at the top level, not in a package
        groups.setdefault("/".join(parts[:depth]) + "/**", []).append(file)
    return {glob: CoverageTotals.of(files) for glob, files in sorted(groups.items())}


def block(
    reports: Sequence[JUnitReport],
    coverage: CoverageData | None,
    *,
    headroom: float,
    instrumented: Sequence[str] = (),
) -> str:
    """The TOML text of the [tool.testgate] tables."""
    versions = per_version(reports)
    totals = sum((r.totals for r in reports), Totals())
    count = min(t.tests for t in versions.values()) if versions else totals.tests
    lines = [
        "# Budgets from the current numbers (`testgate init`): the gate passes today.",
        "# Raise them as the suite improves; never lower them to make a change pass.",
        "[tool.testgate.tests]",
        f"min_count = {count}" + ("  # on each Python version" if len(versions) > 1 else ""),
        f"max_skipped = {totals.skipped}",
        f"max_xfailed = {totals.xfailed}",
    ]
    if coverage is not None and coverage.files:
        t = coverage.totals
        lines += ["", "[tool.testgate.coverage]", f"fail_under = {_floor(t.percent)}"]
        if coverage.has_branches and t.branches:
            lines.append(f"fail_under_branches = {_floor(t.branch_percent)}")
        packages = top_level_packages(coverage)
        if packages:
            cells = ", ".join(
                f"{json.dumps(glob)} = {_floor(pt.percent)}" for glob, pt in packages.items()
            )
            lines.append(f"modules = {{ {cells} }}")
    cases = [c for r in reports for c in r.cases]
    if cases:
        slowest = max(cases, key=lambda c: c.duration)
        found = sessions(reports)
        session_limits = ", ".join(
            f"{_key(name)} = {_ceil(seconds, headroom, 2.0):g}"
            for name, (seconds, _, _) in sorted(found.items())
        )
        lines += ["", "[tool.testgate.durations]"]
        if instrumented:
            lines.append(
                f"# times measured under coverage ({len(instrumented)} session(s)): slower "
                "than plain pytest; see docs/init.md"
            )
        lines += [
            f"max_test = {_ceil(slowest.duration, headroom, 0.5):g}  # slowest: {slowest.node_id} "
            f"{slowest.duration:.2f} s",
            f"max_session = {{ {session_limits} }}",
        ]
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    """A bare TOML key when it can be one, else quoted (`"unit-py3.12"` has a dot)."""
    bare = name.replace("-", "").replace("_", "").isalnum() and name.isascii()
    return name if bare else json.dumps(name)


def _read(config: Config) -> tuple[list[JUnitReport], CoverageData | None]:
    files = junit_files(config.reports_dir)
    if not files:
        raise InputError(
            f"{config.reports_dir / 'junit'}: no JUnit files; run the tests first "
            "(`nox -s unit`, or plain `nox`), then testgate init"
        )
    reports, errors = read_reports(files, config.root, salvage=False)
    if errors:
        raise InputError(errors[0])
    coverage = None
    if coverage_inputs(config.reports_dir):
        coverage = load_coverage(config.reports_dir, config.root)
    return reports, coverage


def run(args: argparse.Namespace) -> int:
    config = find_project()
    reports_dir = given_reports(args.reports)
    if reports_dir is not None:
        config = replace(config, reports=reports_dir)
    if args.headroom < 1:
        raise ConfigError(f"--headroom {args.headroom:g}: must be at least 1")
    reports, coverage = _read(config)
    text = block(
        reports,
        coverage,
        headroom=args.headroom,
        instrumented=measured_under_coverage(config.reports_dir),
    )
    if not args.write:
        print(text, end="")
        return int(ExitCode.OK)
    pyproject = config.root / "pyproject.toml"
    current = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    if config.source is not None or _has_testgate(current):
        raise ConfigError(
            f"{pyproject}: already has [tool.testgate]; print the block (without --write) "
            "and merge the numbers by hand"
        )
    _atomic.write_text(pyproject, current.rstrip("\n") + ("\n\n" if current else "") + text)
    print(f"testgate: wrote [tool.testgate] to {pyproject}")
    return int(ExitCode.OK)


def _has_testgate(text: str) -> bool:
    return any(line.strip().startswith("[tool.testgate") for line in text.splitlines())
