"""`testgate durations`: duration budgets from the JUnit files -> durations.json + .md."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from testgate import _atomic
from testgate.checks import GateResult
from testgate.checks._common import plural
from testgate.checks.durations import Summary, summarize
from testgate.commands import _argtypes, _budget
from testgate.config import Config
from testgate.gate import evaluate
from testgate.read.inputs import measured_under_coverage
from testgate.render import jsonreport, markdown


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "durations",
        help="duration budgets from the JUnit files; write durations.json and durations.md",
        description=(
            "Check per-test and per-session duration budgets and regressions against a "
            "baseline; list the slowest tests and the projected wall time on K workers."
        ),
    )
    _budget.add_options(parser)
    parser.add_argument(
        "--workers",
        type=_argtypes.whole(1),
        metavar="K",
        help="workers for the projected wall time",
    )
    parser.set_defaults(func=run)


def durations_dict(
    summary: Summary, result: GateResult, under_coverage: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "meta": jsonreport.meta(),
        "passed": result.passed,
        # the sessions whose times were measured under coverage (instrumented)
        "measured_under_coverage": list(under_coverage),
        "count": summary.tests,
        "seconds": round(summary.total, 6),
        "projection": {
            "workers": summary.workers,
            "seconds": round(summary.projected, 6),
            "method": "LPT greedy over recorded durations",
        },
        "sessions": {
            name: {"seconds": round(s, 6), "tests": n, "files": list(files)}
            for name, (s, n, files) in sorted(summary.sessions.items())
        },
        "slowest": [
            {"id": s.id, "seconds": s.seconds, "share": round(s.share, 4)} for s in summary.slowest
        ],
        "checks": [jsonreport.check_dict(c) for c in result.checks],
        "tests": {k: round(v, 6) for k, v in sorted(summary.per_test.items())},
    }


UNDER_COVERAGE = (
    "Times measured under coverage (the nox sessions' runs): instrumented, slower than plain "
    "pytest; budget them as such (see docs/init.md)."
)


def durations_md(summary: Summary, result: GateResult, *, instrumented: bool = False) -> str:
    lines = [markdown.render(result, name="durations").rstrip("\n"), ""]
    if instrumented:
        lines += [UNDER_COVERAGE, ""]
    lines.append(
        f"{plural(summary.tests, 'test')}, {summary.total:.2f} s of test time (sum of test "
        "durations); projected wall time on "
        f"{summary.workers} workers: {summary.projected:.2f} s"
    )
    lines += ["", "| Session | Tests | Seconds |", "|---|---:|---:|"]
    for name, (s, n, _) in sorted(summary.sessions.items()):
        lines.append(f"| {name} | {n} | {s:.2f} |")
    lines += ["", f"### Slowest {len(summary.slowest)}", "", "| Test | Seconds | Share |"]
    lines.append("|---|---:|---:|")
    for slow in summary.slowest:
        lines.append(f"| `{slow.id}` | {slow.seconds:.2f} | {slow.share:.1%} |")
    return "\n".join(lines) + "\n"


def workers(config: Config, args: argparse.Namespace) -> int:
    if args.workers:
        return int(args.workers)
    return config.durations.workers or os.cpu_count() or 1


def run(args: argparse.Namespace) -> int:
    config = _budget.load_config(args)
    gate_run = evaluate(config, baseline=args.baseline, which=("durations",))
    summary = summarize(
        gate_run.reports, slowest=config.durations.slowest, workers=workers(config, args)
    )
    out = config.reports_dir
    under = measured_under_coverage(config.reports_dir)
    instrumented = bool(under)
    _atomic.write_json(out / "durations.json", durations_dict(summary, gate_run.result, under))
    _atomic.write_text(
        out / "durations.md", durations_md(summary, gate_run.result, instrumented=instrumented)
    )
    _budget.show(gate_run.result, "durations")
    if summary.tests:
        print(
            f"slowest {len(summary.slowest)} of {plural(summary.tests, 'test')} "
            f"({summary.total:.2f} s in all; projected {summary.projected:.2f} s "
            f"on {summary.workers} workers):"
        )
        for slow in summary.slowest:
            print(f"  {slow.seconds:8.2f} s  {slow.share:6.1%}  {slow.id}")
        if instrumented:
            print(UNDER_COVERAGE)
    return _budget.exit_code(gate_run.result)
