"""`testgate history`: the run history's trends, regressions, flakiness, import and export."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from testgate import _atomic, config
from testgate.checks.history import coverage_drop_check
from testgate.commands import _argtypes
from testgate.errors import ExitCode, InputError, UsageError
from testgate.history import importer, queries, store
from testgate.history.record import Provenance, provenance
from testgate.model import display_percent
from testgate.model.history import RunRow, coverage_drop

DESCRIPTION = """\
The embedded run history (reports/history.sqlite, or [tool.testgate] history):
every `testgate gate` and `testgate flaky` appends a run. Runs where more than 80% of the
tests failed are infrastructure failures and left out of every query.
Exit 1 when a --fail-on-* option finds a violation, 2 on usage or input errors."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="history database (default: from the config)")
    parser.add_argument("--config", type=Path, help="config file (default: ./pyproject.toml)")
    parser.add_argument("--reports", type=Path, help="reports folder holding history.sqlite")


def _query(parser: argparse.ArgumentParser, last: int) -> None:
    _common(parser)
    parser.add_argument("--branch", help="only runs on this branch")
    parser.add_argument("--last", type=_positive, default=last, help=f"window of runs ({last})")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


_positive = _argtypes.whole(1)
_number = _argtypes.real(lambda v: v >= 0, "must be 0 or more")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "history",
        help="run history: trends, regressions, flaky frequency, import/export",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    p = actions.add_parser("runs", help="list the recorded runs, newest last")
    _query(p, 20)
    p.set_defaults(handler=_runs)

    p = actions.add_parser("trend", help="coverage trend, overall or for a module glob")
    _query(p, 10)
    p.add_argument("--module", metavar="GLOB", help='e.g. "src/pkg/core/*" (** spans folders)')
    p.add_argument(
        "--fail-on-drop",
        type=_number,
        metavar="POINTS",
        help="exit 1 when coverage fell more than POINTS from the oldest to the newest run",
    )
    p.set_defaults(handler=_trend)

    p = actions.add_parser("regressions", help="tests slower than the median of earlier runs")
    _query(p, 5)
    p.add_argument("--recent", type=_positive, default=1, help="newest runs judged (median; 1)")
    p.add_argument("--factor", type=_number, default=1.5, help="slower than this x (1.5)")
    p.add_argument("--floor", type=_number, default=0.1, help="ignore tests under S s (0.1)")
    p.add_argument("--fail-on-regression", action="store_true", help="exit 1 when any is found")
    p.set_defaults(handler=_regressions)

    p = actions.add_parser("flaky", help="tests that failed and passed on the same commit, ranked")
    _query(p, 30)
    p.add_argument(
        "--clear-after", type=_positive, default=10, help="clean runs that clear a label (10)"
    )
    p.add_argument(
        "--fail-on-flaky", action="store_true", help="exit 1 when a test is labelled flaky"
    )
    p.set_defaults(handler=_flaky)

    p = actions.add_parser("import", help="record a reports folder (e.g. a CI artifact)")
    _common(p)
    p.add_argument("folder", type=Path, help="reports folder: junit/*.xml, coverage, gate.json")
    p.add_argument("--commit", help="the commit it was made from (default: git HEAD here)")
    p.add_argument("--branch", dest="on_branch", help="its branch (default: git/CI here)")
    p.add_argument("--ci-job", help="its CI job id")
    p.set_defaults(handler=_import)

    p = actions.add_parser("export", help="write the history as JSON (format 1)")
    _common(p)
    p.add_argument("--branch", help="only runs on this branch")
    p.add_argument("--last", type=_positive, help="only the newest N runs")
    p.add_argument("--output", "-o", type=Path, help="write to FILE instead of stdout")
    p.set_defaults(handler=_export)

    p = actions.add_parser("prune", help="keep only the newest N runs")
    _common(p)
    p.add_argument("--keep", type=_positive, help="runs to keep (default: history_keep)")
    p.set_defaults(handler=_prune)


def db_path(args: argparse.Namespace) -> tuple[Path, config.Config]:
    cfg = config.find_project(config_file=args.config)
    if args.db is not None:
        return args.db, cfg
    reports = config.given_reports(args.reports)
    if cfg.history is None and reports is not None:
        return reports / "history.sqlite", cfg
    return cfg.history_path, cfg


def run(args: argparse.Namespace) -> int:
    func: Callable[[argparse.Namespace], int] = args.handler
    with store.guard(db_path(args)[0]):
        return func(args)


def _open(args: argparse.Namespace) -> sqlite3.Connection:
    return store.connect(db_path(args)[0], create=False)


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _run_dict(r: RunRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "time": r.time,
        "commit": r.commit,
        "branch": r.branch,
        "kind": r.kind,
        "passed": r.passed,
        "tests": r.tests,
        "failed": r.failed,
        "flaky": r.flaky,
        "coverage": r.coverage,
        "seconds": r.seconds,
        "infrastructure_failure": r.infrastructure_failure,
    }


def _short(commit: str | None) -> str:
    return commit[:10] if commit else "-"


def _pc(value: float | None) -> str:
    return display_percent(value, 2) + "%" if value is not None else "-"


def _runs(args: argparse.Namespace) -> int:
    db = _open(args)
    rows = queries.runs(db, branch=args.branch, last=args.last, include_infra=True)
    if args.json:
        _print_json({"runs": [_run_dict(r) for r in rows]})
        return 0
    print(
        f"{'run':>5}  {'time':20}  {'commit':10}  {'branch':16}  {'kind':6}  verdict  "
        f"{'tests':>6}  {'failed':>6}  {'coverage':>8}  {'seconds':>8}"
    )
    for r in rows:
        verdict = "infra" if r.infrastructure_failure else ("pass" if r.passed else "FAIL")
        print(
            f"{r.id:>5}  {r.time:20}  {_short(r.commit):10}  {(r.branch or '-')[:16]:16}  "
            f"{r.kind:6}  {verdict:7}  {r.tests:>6}  {r.failed:>6}  {_pc(r.coverage):>8}  "
            f"{r.seconds:>8.2f}"
        )
    return 0


def _trend(args: argparse.Namespace) -> int:
    db = _open(args)
    points = queries.coverage_trend(db, module=args.module, last=args.last, branch=args.branch)
    what = f"coverage of {args.module}" if args.module else "total coverage"
    if not points:
        raise InputError(
            f"history: no run with {what}"
            + (f" on branch {args.branch}" if args.branch else "")
            + "; record gate runs with coverage data first"
        )
    drop = coverage_drop(points)
    violated = (
        drop is not None and args.fail_on_drop is not None and drop.points > args.fail_on_drop
    )
    if args.json:
        _print_json(
            {
                "module": args.module,
                "points": [
                    {
                        "run": p.run.id,
                        "time": p.run.time,
                        "commit": p.run.commit,
                        "percent": round(p.percent, 2),
                    }
                    for p in points
                ],
                "drop": round(drop.points, 2) if drop else None,
                "max_drop": args.fail_on_drop,
                "passed": not violated,
            }
        )
    else:
        for p in points:
            bar = "#" * round(p.percent / 2.5)
            print(
                f"{p.run.id:>5}  {p.run.time:20}  {_short(p.run.commit):10}  "
                f"{_pc(p.percent):>8}  {bar}"
            )
        if drop is not None:
            change = -drop.points
            print(
                f"{what} {_pc(drop.first.percent)} -> {_pc(drop.latest.percent)} over the "
                f"last {len(points)} runs ({change:+.2f} points)"
            )
    if violated:
        check = coverage_drop_check(points, args.fail_on_drop, module=args.module)
        print(f"testgate: {check.message}", file=sys.stderr)
        return int(ExitCode.BUDGET_VIOLATED)
    return 0


def _regressions(args: argparse.Namespace) -> int:
    db = _open(args)
    found = queries.duration_regressions(
        db,
        last=args.last,
        recent=args.recent,
        factor=args.factor,
        floor=args.floor,
        branch=args.branch,
    )
    if args.json:
        _print_json(
            {
                "regressions": [
                    {
                        "id": r.node_id,
                        "baseline": r.baseline,
                        "current": r.current,
                        "factor": round(r.factor, 2),
                        "runs": r.runs,
                    }
                    for r in found
                ]
            }
        )
    elif not found:
        print(
            f"no test is more than {args.factor:g}x slower than its median of the last "
            f"{args.last} runs"
        )
    else:
        for r in found:
            print(
                f"{r.node_id}: {r.current:.3f}s is {r.factor:.1f}x its median {r.baseline:.3f}s "
                f"over {r.runs} earlier runs (limit {args.factor:g}x)"
            )
    return int(ExitCode.BUDGET_VIOLATED) if found and args.fail_on_regression else 0


def _flaky(args: argparse.Namespace) -> int:
    db = _open(args)
    report = queries.flaky_tests(
        db, last=args.last, clear_after=args.clear_after, branch=args.branch
    )
    if args.json:
        _print_json(
            {
                "window": len(report.window),
                "tests": [
                    {
                        "id": t.node_id,
                        "flaked": t.flaked,
                        "runs": t.runs,
                        "rate": round(t.rate, 4),
                        "active": t.active,
                        "clean_since": t.clean_since,
                        "kind": t.kind,
                        "repro": t.repro,
                        "commits": list(t.commits),
                    }
                    for t in report.tests
                ],
            }
        )
    elif not report.tests:
        print(f"no test flaked in the last {len(report.window)} runs")
    else:
        print(f"{'flaked':>6}  {'runs':>4}  {'rate':>6}  label    test")
        for t in report.tests:
            label = "flaky" if t.active else "cleared"
            print(f"{t.flaked:>6}  {t.runs:>4}  {t.rate:>6.1%}  {label:7}  {t.node_id}")
    return int(ExitCode.BUDGET_VIOLATED) if report.active and args.fail_on_flaky else 0


def _import(args: argparse.Namespace) -> int:
    path, cfg = db_path(args)
    origin = None
    if args.commit or args.on_branch or args.ci_job:
        here = provenance(cfg.root)
        origin = Provenance(
            args.commit or here.commit, args.on_branch or here.branch, args.ci_job or here.ci_job
        )
    ids = importer.import_reports(
        path, args.folder, root=cfg.root, origin=origin, keep=cfg.history_keep
    )
    print(f"{args.folder}: recorded as run {', '.join(map(str, ids))} in {path}")
    return 0


def _export(args: argparse.Namespace) -> int:
    db = _open(args)
    data = importer.export(db, branch=args.branch, last=args.last)
    if args.output is not None:
        _atomic.write_json(args.output, data)
    else:
        _print_json(data)
    return 0


def _prune(args: argparse.Namespace) -> int:
    path, cfg = db_path(args)
    keep = args.keep or cfg.history_keep
    if keep is None:
        raise UsageError("history prune: say how many runs to keep (--keep N or history_keep)")
    db = store.connect(path, create=False)
    with store.transaction(db):
        deleted = store.prune(db, keep)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    print(f"{path}: deleted {deleted} runs, kept the newest {keep}")
    return 0
