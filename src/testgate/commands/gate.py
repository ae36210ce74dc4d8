"""`testgate gate`."""

from __future__ import annotations

import argparse
from typing import Any

from testgate.errors import UsageError


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("gate", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    del args
    raise UsageError("testgate gate is not implemented yet")
