"""`testgate coverage`: combine the coverage data, write JSON/XML/HTML, check coverage budgets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from testgate.commands import _budget
from testgate.config import Config
from testgate.gate import evaluate
from testgate.read.coverage import combine_project_data, write_coverage_reports


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


def combine(config: Config) -> Path:
    """reports/coverage/.coverage from every data file under reports/coverage/, then the
    JSON, XML and HTML reports from it."""
    combined = combine_project_data(config.reports_dir, root=config.root)
    write_coverage_reports(combined, config.reports_dir, root=config.root)
    return combined


def run(args: argparse.Namespace) -> int:
    config = _budget.load_config(args)
    combine(config)
    gate_run = evaluate(config, baseline=args.baseline, which=("coverage",))
    _budget.show(gate_run.result, "coverage")
    return _budget.exit_code(gate_run.result)
