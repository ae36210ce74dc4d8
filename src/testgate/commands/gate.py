"""`testgate gate`: every budget at once -> gate.json, gate.md, gate-junit.xml, one verdict."""

from __future__ import annotations

import argparse
from typing import Any

from testgate import _atomic
from testgate import publish as publishing
from testgate.commands import _budget
from testgate.config import Config
from testgate.gate import evaluate
from testgate.model.gate import GateRun
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
    """All three or none: a full disk leaves the previous gate's reports as they were."""
    out = config.reports_dir
    md = markdown.render(run.result)
    doc = jsonreport.gate_dict(run.result, run.reports, run.coverage)
    _atomic.write_many(
        {
            out / "gate.json": _atomic.json_bytes(out / "gate.json", doc),
            out / "gate.md": _atomic.encode(md),
            out / "gate-junit.xml": junitxml.render(run.result),
        }
    )
    _budget.append_summary(md)


def publish(run: GateRun, config: Config) -> None:
    """History, index.html and badges come after the verdict's own reports: a broken history
    database warns, it never hides gate.json."""
    with publishing.warn_only(config.history_path):
        publishing.publish(
            config, result=run.result, reports=run.reports, coverage=run.coverage, flaky=run.flaky
        )


def run(args: argparse.Namespace) -> int:
    config = _budget.load_config(args)
    result = evaluate(config, baseline=args.baseline)
    write_reports(result, config)
    _budget.show(result.result)
    publish(result, config)
    return _budget.exit_code(result.result)
