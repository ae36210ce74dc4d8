"""Helpers the checks share: path globs, number formatting, status from a comparison."""

from __future__ import annotations

import functools
import re

from testgate.checks import Status


@functools.lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """`*` and `?` stay within one path segment, `**` spans any number of them."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, path: str) -> bool:
    return glob_regex(pattern).match(path) is not None


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
