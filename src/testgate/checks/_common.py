"""Helpers the checks share: path globs, number formatting, status from a comparison."""

from __future__ import annotations

import re

from testgate._glob import glob_match, glob_regex
from testgate.checks import Status

__all__ = ["glob_match", "glob_regex", "num", "plural", "secs", "specificity", "status"]


def specificity(pattern: str) -> tuple[int, int]:
    """More literal characters, then fewer wildcards: `tests/unit/slow/*` beats `tests/**`."""
    literal = len(re.sub(r"[*?]", "", pattern))
    return literal, -pattern.count("*") - pattern.count("?")


def num(value: float) -> str:
    """80.0 -> "80", 80.5 -> "80.5": limits shown as the user wrote them."""
    return f"{value:g}"


def secs(value: float) -> str:
    return f"{value:.2f} s"


def status(ok: bool) -> Status:
    return Status.PASS if ok else Status.FAIL


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}es" if word.endswith(("ch", "s", "sh", "x")) else f"{n} {word}s"
