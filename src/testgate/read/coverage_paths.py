"""Map file paths recorded on other machines or checkouts onto the project tree.

Coverage data remembers where each file was measured: `/builds/x/src/pkg/m.py` on a CI shard,
`/tmp/a/checkout1/src/pkg/m.py` in a second checkout, `.../site-packages/pkg/m.py` for an
installed package. Instead of asking for hand-written `[paths]`, a recorded path is matched to
the project file that shares the longest tail of path components with it.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Folders that hold copies of project files (virtualenvs, build output, caches): a tail
# match inside them would shadow the real source.
_SKIP_DIRS = frozenset(
    {
        "__pycache__",
        "node_modules",
        "site-packages",
        "dist-packages",
        "build",
        "dist",
        "htmlcov",
    }
)
_INSTALL_DIRS = frozenset({"site-packages", "dist-packages"})
_SEP = re.compile(r"[/\\]+")


def parts_of(path: str) -> tuple[str, ...]:
    """Path components of a POSIX or Windows path, drive and empty parts dropped."""
    parts = [p for p in _SEP.split(path) if p and p != "."]
    if parts and re.fullmatch(r"[A-Za-z]:", parts[0]):
        parts = parts[1:]
    return tuple(parts)


def is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\")) or bool(re.match(r"[A-Za-z]:[/\\]", path))


@dataclass(frozen=True)
class PathRemap:
    """Where each recorded path lands: root-relative POSIX paths, or why it could not."""

    mapped: Mapping[str, str] = field(default_factory=dict)
    unmapped: tuple[str, ...] = ()  # nothing in the project tree matches its tail
    ambiguous: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # equal best matches

    def describe(self) -> str:
        """One line for messages about what could not be mapped."""
        bits = [f"{p} (matches {' and '.join(c)})" for p, c in sorted(self.ambiguous.items())]
        bits += [f"{p} (not in the project tree)" for p in self.unmapped]
        return "; ".join(bits)


def project_files(root: Path, names: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    """Project files whose base name is one of `names`, by base name, as component tuples.

    Hidden folders, virtualenvs (a `pyvenv.cfg`), caches and build output are skipped.
    """
    wanted = set(names)
    found: dict[str, list[tuple[str, ...]]] = {}
    if not wanted:
        return found
    stack: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        if rel and any(e.name == "pyvenv.cfg" for e in entries):
            continue
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:  # pragma: no cover - vanished while walking
                continue
            if is_dir:
                if not (
                    entry.name.startswith(".")
                    or entry.name in _SKIP_DIRS
                    or entry.name.endswith(".egg-info")
                ):
                    stack.append((entry.path, (*rel, entry.name)))
            elif entry.name in wanted:
                found.setdefault(entry.name, []).append((*rel, entry.name))
    return found


def _tail(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        n += 1
    return n


def _acceptable(recorded: tuple[str, ...], candidate: tuple[str, ...], score: int) -> bool:
    """Two components (`pkg/m.py`) or the whole project path must match; one is enough
    only for a top-level module installed into site-packages (`src/m.py`)."""
    if score >= 2 or score == len(candidate):
        return True
    return score == 1 and len(recorded) >= 2 and recorded[-2] in _INSTALL_DIRS


def remap_paths(recorded: Iterable[str], root: Path) -> PathRemap:
    """Map each recorded path to a root-relative POSIX path.

    A path already inside `root` (absolute under it, or relative and present) stays. Others
    take the project file sharing the longest tail of components; a tie between the best
    candidates leaves the path unmapped as ambiguous.
    """
    root = Path(os.path.realpath(root))
    root_parts = parts_of(root.as_posix())
    mapped: dict[str, str] = {}
    pending: dict[str, tuple[str, ...]] = {}
    for path in recorded:
        parts = parts_of(path)
        if not parts:
            continue
        if is_absolute(path):
            if parts[: len(root_parts)] == root_parts and len(parts) > len(root_parts):
                mapped[path] = "/".join(parts[len(root_parts) :])
                continue
        elif root.joinpath(*parts).is_file():
            mapped[path] = "/".join(parts)
            continue
        pending[path] = parts
    unmapped: list[str] = []
    ambiguous: dict[str, tuple[str, ...]] = {}
    index = project_files(root, (p[-1] for p in pending.values()))
    for path, parts in pending.items():
        scored = [(_tail(parts, c), c) for c in index.get(parts[-1], [])]
        scored = [(s, c) for s, c in scored if _acceptable(parts, c, s)]
        if not scored:
            unmapped.append(path)
            continue
        best = max(s for s, _ in scored)
        top = sorted("/".join(c) for s, c in scored if s == best)
        if len(top) > 1:
            ambiguous[path] = tuple(top)
        else:
            mapped[path] = top[0]
    return PathRemap(mapped=mapped, unmapped=tuple(sorted(unmapped)), ambiguous=ambiguous)


def to_project_paths(names: Iterable[str], root: Path) -> dict[str, str]:
    """Report file names as project keys: remapped where that is unambiguous, as written
    (with forward slashes) otherwise. Names that would land on one project file keep theirs."""
    names = list(names)
    remap = remap_paths(names, root)
    counts = Counter(remap.mapped.values())
    return {
        n: m if (m := remap.mapped.get(n)) is not None and counts[m] == 1 else n.replace("\\", "/")
        for n in names
    }
