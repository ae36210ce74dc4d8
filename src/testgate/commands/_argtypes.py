"""argparse `type=` converters shared by the commands, so every bad number reads the same."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole(minimum: int) -> Callable[[str], int]:
    """A whole number of at least `minimum` (0: "must not be negative")."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            bound = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
            raise argparse.ArgumentTypeError(f"{text!r} {bound}")
        return value

    return convert


def real(
    accept: Callable[[float], bool], bound: str, *, what: str = "a number"
) -> Callable[[str], float]:
    """A number for which `accept` holds; `bound` says which ("must be 0 or more")."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text!r} {bound}")
        return value

    return convert
