"""`testgate COMMAND ...`: one entry point, one place that turns errors into exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from testgate import __version__
from testgate._escape import Guard
from testgate._safeio import output_error
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
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except TestgateError as exc:
        print(f"testgate: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except OSError as exc:  # an operation no command expected to fail: still one line
        if isinstance(exc, BrokenPipeError):
            return int(ExitCode.OK)
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
