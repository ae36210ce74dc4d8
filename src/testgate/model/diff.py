"""Lines changed against a git base, and what coverage.py's parser says about them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Diff:
    base: str  # the ref the user named or we found
    commit: str  # the merge base actually compared with
    lines: Mapping[str, frozenset[int]]  # path relative to the root -> changed line numbers


# Per file: executable lines, and the number of exits of each line that branches.
Parsed = Mapping[str, tuple[frozenset[int], dict[int, int]]]
