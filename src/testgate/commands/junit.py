"""`testgate junit FILE... [--json] [--root DIR]`: JUnit/xUnit XML of any producer, in totals.

Every file is reported (its totals, or the one-line reason it could not be read) before the exit
code says whether all of them could: 0 when all were read, 2 when any was refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from testgate import __version__
from testgate.config import find_root
from testgate.errors import ExitCode, InputError
from testgate.model import JUnitReport, Totals
from testgate.read.junit import read_junit

_COLUMNS = ("tests", "passed", "failed", "errors", "skipped", "xfailed")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "junit",
        help="read JUnit/xUnit XML files and print their totals",
        description=(
            "Read JUnit/xUnit XML files of any producer (pytest, Surefire, Go, Jest, PHPUnit, "
            "GoogleTest, ...) and print per-file and overall totals. Exit 2 if any file could "
            "not be read, after reporting all of them."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="JUnit XML file(s)")
    parser.add_argument("--json", action="store_true", help="print the JSON report (format 2)")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="DIR",
        help="project root pytest node ids are relative to (default: found as pytest does)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = args.root.resolve() if args.root else find_root()[0]
    results: list[tuple[str, JUnitReport | None, str | None]] = []
    for path in args.files:
        try:
            results.append((path, read_junit(path, root=root), None))
        except InputError as exc:
            results.append((path, None, exc.message))
    total = sum((r.totals for _, r, _ in results if r is not None), Totals())
    if args.json:
        print(json.dumps(_json(results, total), indent=2, ensure_ascii=False))
    else:
        _table(results, total)
    failed = sum(1 for _, r, _ in results if r is None)
    if failed:
        print(f"testgate: {failed} of {len(results)} file(s) could not be read", file=sys.stderr)
        return int(ExitCode.ERROR)
    return int(ExitCode.OK)


def _json(results: list[tuple[str, JUnitReport | None, str | None]], total: Totals) -> Any:
    return {
        "meta": {"format": 2, "tool": "testgate", "version": __version__},
        "files": [
            {
                "path": path,
                "ok": report is not None,
                "error": error,
                "totals": report.totals.as_dict() if report is not None else None,
            }
            for path, report, error in results
        ],
        "totals": total.as_dict(),
    }


def _table(results: list[tuple[str, JUnitReport | None, str | None]], total: Totals) -> None:
    """An aligned table: one row per file, its error in place of counts, then the total."""
    rows: list[tuple[str, ...]] = [("file", *_COLUMNS, "seconds")]
    errors: dict[int, str] = {}
    for path, report, error in results:
        if report is not None:
            rows.append(_row(path, report.totals, report.seconds))
        else:
            errors[len(rows)] = str(error).removeprefix(f"{path}: ")
            rows.append((path,))
    seconds = sum(r.seconds for _, r, _ in results if r is not None)
    rows.append(_row("total", total, seconds))
    width = max(len(r[0]) for r in rows)
    nums = [max(len(r[i]) for r in rows if len(r) > i) for i in range(1, len(rows[0]))]
    for index, row in enumerate(rows):
        if index in errors:
            print(f"{row[0]:<{width}}  error: {errors[index]}")
        else:
            cells = "  ".join(f"{cell:>{w}}" for cell, w in zip(row[1:], nums, strict=True))
            print(f"{row[0]:<{width}}  {cells}")


def _row(path: str, totals: Totals, seconds: float) -> tuple[str, ...]:
    counts = totals.as_dict()
    return (path, *(str(counts[c]) for c in _COLUMNS), f"{seconds:.2f}")
