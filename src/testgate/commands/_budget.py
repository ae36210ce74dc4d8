"""What the budget commands (gate, coverage, durations) share: options, outputs, exit code."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from testgate._escape import write_command
from testgate._safeio import OutputError, append_text
from testgate.checks import GateResult, Status
from testgate.config import Config, find_project, given_reports
from testgate.errors import ExitCode
from testgate.render import annotations as github
from testgate.render import text


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reports", metavar="DIR", help="the reports folder (default: [tool.testgate] reports)"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="read [tool.testgate] from FILE instead of pyproject.toml"
    )
    parser.add_argument(
        "--baseline",
        metavar="PATH",
        help="a previous reports/ folder, or its gate.json, coverage.json or durations.json",
    )


def load_config(args: argparse.Namespace) -> Config:
    config = find_project(config_file=Path(args.config) if args.config else None)
    reports = given_reports(args.reports)
    if reports is not None:
        config = replace(config, reports=reports)
    return config


def show(result: GateResult, name: str = "gate") -> None:
    """The table on stdout; GitHub annotations too when running in GitHub Actions."""
    sys.stdout.write(text.render(result, color=text.use_color(sys.stdout), name=name))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github.render(result):
            write_command(sys.stdout, line)
    sys.stdout.flush()


def append_summary(markdown: str) -> None:
    """Named by the environment, so it may be anywhere; but never a FIFO or device, and a
    summary that cannot be written is a warning: the gate's own reports are written."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            append_text(summary, markdown + "\n")
        except OutputError as exc:
            print(f"testgate: warning: GITHUB_STEP_SUMMARY {exc.message}", file=sys.stderr)


def exit_code(result: GateResult) -> int:
    """2 when an input is missing or broken (with its one line on stderr), 1 over budget."""
    broken = [c for c in result.checks if c.id.startswith("inputs.") and c.status is Status.FAIL]
    if broken:
        print(f"testgate: {broken[0].message}", file=sys.stderr)
        return int(ExitCode.ERROR)
    return int(ExitCode.OK if result.passed else ExitCode.BUDGET_VIOLATED)
