"""`testgate COMMAND ...`: one entry point, one place that turns errors into exit codes."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from testgate import __version__
from testgate.errors import ExitCode, TestgateError, UsageError

# Each module in testgate.commands has add_parser(subparsers) and run(args) -> int.
COMMANDS = ("junit", "coverage", "durations", "gate", "flaky", "shard", "history")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="testgate",
        description="Enforce coverage, duration, flakiness and inventory budgets on a test suite.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"testgate.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except TestgateError as exc:
        print(f"testgate: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else int(ExitCode.ERROR)
    except KeyboardInterrupt:
        print("testgate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return int(ExitCode.OK)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
