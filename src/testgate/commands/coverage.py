"""`testgate coverage`: combine the coverage data, write JSON/XML/HTML, check coverage budgets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from testgate.commands import _budget
from testgate.config import Config
from testgate.errors import InputError
from testgate.gate import coverage_inputs, evaluate


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "coverage",
        help="combine coverage data; write coverage.json, coverage.xml, htmlcov/; check budgets",
        description=(
            "Combine the coverage data files under REPORTS/coverage (sessions, shards, "
            "machines), write coverage.json, coverage.xml and htmlcov/, then check the "
            "[tool.testgate.coverage] budgets."
        ),
    )
    _budget.add_options(parser)
    parser.set_defaults(func=run)


def data_files(folder: Path) -> tuple[list[Path], Path | None]:
    """(parallel data files to combine, the combined file if there is one)."""
    combined = folder / ".coverage"
    parallel = [p for p in coverage_inputs(folder.parent) if p.parent != folder.parent]
    parallel = [p for p in parallel if p != combined]
    return parallel, combined if combined.is_file() else None


def combine(config: Config) -> Path:
    from testgate.read.coverage import (
        combine_data_files,
        write_coverage_reports,
    )

    folder = config.reports_dir / "coverage"
    parallel, combined = data_files(folder)
    if parallel:
        combined = combine_data_files(parallel, root=config.root, out=folder / ".coverage")
    if combined is None:
        raise InputError(
            f"{folder}: no coverage data files (.coverage.*); run the tests with coverage "
            "first (nox -s unit)"
        )
    write_coverage_reports(combined, config.reports_dir, root=config.root)
    return combined


def run(args: argparse.Namespace) -> int:
    config = _budget.load_config(args)
    combine(config)
    gate_run = evaluate(config, baseline=args.baseline, which=("coverage",))
    _budget.show(gate_run.result)
    return _budget.exit_code(gate_run.result)
