"""`testgate gate`: every budget at once -> gate.json, gate.md, gate-junit.xml, one verdict."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from testgate import _atomic
from testgate.commands import _budget
from testgate.config import Config
from testgate.errors import TestgateError
from testgate.gate import GateRun, evaluate
from testgate.render import jsonreport, junitxml, markdown


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "gate",
        help="evaluate every budget; write gate.json, gate.md, gate-junit.xml",
        description=(
            "Evaluate every budget (tests, coverage, durations, flakiness) from the files in the "
            "reports folder. Exit 0 within budget, 1 over budget, 2 when an input is missing, "
            "broken or stale."
        ),
    )
    _budget.add_options(parser)
    parser.set_defaults(func=run)


def write_reports(run: GateRun, config: Config) -> None:
    out = config.reports_dir
    _atomic.write_json(
        out / "gate.json", jsonreport.gate_dict(run.result, run.reports, run.coverage)
    )
    md = markdown.render(run.result)
    _atomic.write_text(out / "gate.md", md)
    _atomic.write_bytes(out / "gate-junit.xml", junitxml.render(run.result))
    _budget.append_summary(md)


def _optional(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def extras(run: GateRun, config: Config) -> None:
    """History, the HTML report and badges, when those parts of testgate are installed."""
    record_run = _optional("testgate.history", "record_run")
    write_html = _optional("testgate.render.html", "write_html_report")
    write_badges = _optional("testgate.render.badges", "write_badges")
    history = config.history_path
    try:
        if record_run is not None:
            record_run(
                history,
                result=run.result,
                reports=run.reports,
                coverage=run.coverage,
                root=config.root,
                kind="gate",
            )
        if write_html is not None:
            write_html(
                config.reports_dir / "index.html",
                result=run.result,
                reports=run.reports,
                coverage=run.coverage,
                flaky=run.flaky,
                history_db=history if history.exists() else None,
            )
        if write_badges is not None:
            write_badges(
                config.reports_dir / "badges",
                result=run.result,
                reports=run.reports,
                coverage=run.coverage,
                flaky=run.flaky,
            )
    except (TestgateError, OSError) as exc:
        text = exc.message if isinstance(exc, TestgateError) else str(exc)
        print(f"testgate: warning: {text}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    config = _budget.load_config(args)
    result = evaluate(config, baseline=args.baseline)
    write_reports(result, config)
    _budget.show(result.result)
    extras(result, config)
    return _budget.exit_code(result.result)
