"""`testgate COMMAND ...`: one entry point, one place that turns errors into exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from testgate import __version__
from testgate._escape import Guard
from testgate._safeio import output_error
from testgate.errors import ExitCode, TestgateError, UsageError

# Each module in testgate.commands has add_parser(subparsers) and run(args) -> int. Only the
# module of the command that runs is imported: the others are declared by name and help alone,
# so `testgate --version` or `testgate junit` pay for no other command's imports.
COMMANDS = {
    "junit": "read JUnit/xUnit XML files and print their totals",
    "coverage": "combine coverage data; write coverage.json, coverage.xml, htmlcov/; check budgets",
    "durations": "duration budgets from the JUnit files; write durations.json and durations.md",
    "gate": "evaluate every budget; write gate.json, gate.md, gate-junit.xml",
    "flaky": "hunt flaky tests: N randomized pytest runs, classified, with repro commands",
    "shard": "the test node ids of group K of N, balanced by recorded durations",
    "history": "run history: trends, regressions, flaky frequency, import/export",
    "init": "write a [tool.testgate] block from the project's current numbers",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named in `argv`: its first word that is not an option."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: every command's options when `argv` is None, else only those of
    the command it names."""
    parser = _Parser(
        prog="testgate",
        description="Enforce coverage, duration, flakiness and inventory budgets on a test suite.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    chosen = None if argv is None else _chosen(argv)
    for name, help in COMMANDS.items():
        if argv is None or name == chosen:
            importlib.import_module(f"testgate.commands.{name}").add_parser(sub)
        else:
            sub.add_parser(name, help=help)
    return parser


def _json_error(exc: TestgateError) -> str:
    """The error of a `--json` run as the JSON a script reads (the one line goes to stderr)."""
    error = {"kind": exc.slug, "message": exc.message, "exit_code": int(exc.exit_code)}
    return json.dumps({"meta": {"tool": "testgate", "version": __version__}, "error": error})


def main(argv: Sequence[str] | None = None) -> int:
    """Every line the command prints goes through `_escape.Guard`: a test name in the output
    cannot move the terminal's cursor or start a GitHub workflow command."""
    out, err = sys.stdout, sys.stderr
    guards = Guard(out), Guard(err)
    sys.stdout, sys.stderr = guards
    try:
        return _main(argv)
    finally:
        for guard in guards:
            with contextlib.suppress(OSError, ValueError):
                guard.finish()
        sys.stdout, sys.stderr = out, err


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(argv).parse_args(argv)
        return int(args.func(args))
    except TestgateError as exc:
        if "--json" in argv:
            print(_json_error(exc))
        print(f"testgate: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except OSError as exc:  # an operation no command expected to fail: still one line
        print(f"testgate: {output_error(exc, 'complete the command').message}", file=sys.stderr)
        return int(ExitCode.ERROR)
    except RecursionError:
        print("testgate: an input is nested too deeply to read; refused", file=sys.stderr)
        return int(ExitCode.ERROR)
    except MemoryError:
        print("testgate: out of memory; an input is too large for this machine", file=sys.stderr)
        return int(ExitCode.ERROR)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else int(ExitCode.ERROR)
    except KeyboardInterrupt:
        print("testgate: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
