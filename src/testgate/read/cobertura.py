"""Cobertura XML (coverage.py's `coverage xml`, and the tools of other languages: gcovr,
Istanbul, coverlet, JaCoCo converters...) as `CoverageData`, so any of them can be gated.

Per line: `hits`, and for branch lines `condition-coverage="50% (1/2)"`. Statements are the
listed lines, missing lines those with no hits; branches count as coverage.py counts them
(a partial branch is a line that ran with some of its branches never taken). coverage.py's
`missing-branches` gives the destinations of the missing arcs; other tools do not say, and
such arcs get destination 0 ("unknown"); exits are -1.

The file is untrusted: parsed incrementally without DTDs, entities or network, and refused
above a size limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from lxml import etree

from testgate._safeio import open_input
from testgate.errors import InputError
from testgate.model import CoverageData, FileCoverage
from testgate.read.coverage_paths import to_project_paths

MAX_BYTES = 256 * 1024 * 1024
UNKNOWN = 0
EXIT = -1
_CONDITIONS = re.compile(r"\(\s*(\d+)\s*/\s*(\d+)\s*\)")


class _Bad(Exception):
    pass


@dataclass
class _Line:
    hits: int = 0
    taken: int = 0
    total: int = 0
    missing_to: tuple[int, ...] = ()


@dataclass
class _File:
    lines: dict[int, _Line] = field(default_factory=dict)

    def add(self, number: int, line: _Line) -> None:
        """A line listed by several classes of one file: covered if any run covered it."""
        seen = self.lines.get(number)
        if seen is None or (line.hits, line.taken) > (seen.hits, seen.taken):
            self.lines[number] = line


def read_cobertura(path: Path, root: Path, *, precision: int) -> CoverageData:
    display = str(path)
    try:
        files, sources, branches_valid = _parse(path)
    except etree.XMLSyntaxError as exc:
        row, column = exc.position
        if "amplification" in str(exc) or "entity reference loop" in str(exc):
            raise InputError(
                f"{display}: refused at line {row}: entity expansion (an XML bomb?)"
            ) from None
        reason = str(exc.msg).split(", line ")[0]
        where = f" at line {row}, column {column}" if row else ""
        raise InputError(
            f"{display}: not well-formed XML{where} ({reason}; truncated file?)"
        ) from None
    except _Bad as exc:
        raise InputError(f"{display}: {exc}") from None
    if not files:
        raise InputError(f"{display}: no <class> elements, so no file was measured")
    full = {name: _locate(name, sources, root) for name in files}
    keys = to_project_paths(sorted(set(full.values())), root)
    merged: dict[str, _File] = {}
    for name, parsed in files.items():
        into = merged.setdefault(keys[full[name]], _File())
        for number, line in parsed.lines.items():
            into.add(number, line)
    result = {key: _coverage(key, parsed) for key, parsed in sorted(merged.items())}
    has_branches = branches_valid > 0 or any(f.branches for f in result.values())
    return CoverageData(
        files=result, precision=precision, has_branches=has_branches, source=display
    )


def _parse(path: Path) -> tuple[dict[str, _File], list[str], int]:
    files: dict[str, _File] = {}
    sources: list[str] = []
    with open_input(path, limit=MAX_BYTES) as handle:
        events = etree.iterparse(
            handle,
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        branches_valid = _walk(events, files, sources)
    return files, sources, branches_valid


def _walk(
    events: Iterable[tuple[str, etree._Element]], files: dict[str, _File], sources: list[str]
) -> int:
    branches_valid = 0
    first = True
    for event, elem in events:
        tag = etree.QName(elem).localname if isinstance(elem.tag, str) else ""
        if first:
            first = False
            if tag != "coverage":
                raise _Bad(f"not Cobertura XML: root element <{tag}>")
            branches_valid = _count(elem.get("branches-valid", "0"), "branches-valid")
            continue
        if event != "end":
            continue
        if tag == "source":
            text = (elem.text or "").strip()
            if text:
                sources.append(text)
        elif tag == "class":
            filename = (elem.get("filename") or "").strip()
            if not filename:
                raise _Bad(f"<class name={elem.get('name')!r}> without a filename attribute")
            parsed = files.setdefault(filename, _File())
            for line in elem.iterfind("{*}lines/{*}line"):
                number, value = _line(line)
                parsed.add(number, value)
            _forget(elem)
        elif tag == "package":
            _forget(elem)
    return branches_valid


def _forget(elem: etree._Element) -> None:
    """Keep memory bounded: drop what is read and the siblings before it."""
    elem.clear()
    parent = cast("etree._Element", elem.getparent())  # <class>/<package>, never the root
    while elem.getprevious() is not None:
        del parent[0]


def _count(text: str, what: str) -> int:
    try:
        value = int(float(text))
    except (ValueError, OverflowError):
        raise _Bad(f"{what}={text!r} is not a number") from None
    if value < 0:
        raise _Bad(f"{what}={text!r} is negative")
    return value


def _line(elem: etree._Element) -> tuple[int, _Line]:
    where = f"<line number={elem.get('number')!r}> (XML line {elem.sourceline})"
    number = _count(elem.get("number", ""), f"{where}: number")
    if number < 1:
        raise _Bad(f"{where}: line numbers start at 1")
    hits = _count(elem.get("hits", ""), f"{where}: hits")
    line = _Line(hits=hits)
    if elem.get("branch", "").strip().lower() == "true":
        conditions = elem.get("condition-coverage", "")
        match = _CONDITIONS.search(conditions)
        if match:
            taken, total = int(match[1]), int(match[2])
            if taken > total:
                raise _Bad(f"{where}: condition-coverage {conditions!r} takes more than all")
            line.taken, line.total = taken, total
            line.missing_to = _missing_to(elem.get("missing-branches"), total - taken)
    return number, line


def _missing_to(listed: str | None, count: int) -> tuple[int, ...]:
    """Destinations of the missing arcs where coverage.py lists them, else unknown."""
    known: list[int] = []
    for item in (listed or "").split(","):
        item = item.strip()
        if item == "exit":
            known.append(EXIT)
        elif item.lstrip("-").isdigit():
            known.append(int(item))
    if len(known) != count:
        return (UNKNOWN,) * count
    return tuple(known)


def _locate(filename: str, sources: list[str], root: Path) -> str:
    """The file's path as the producer knew it: under the first <source> that has it here."""
    if filename.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[/\\]", filename):
        return filename
    joined = [f"{s.rstrip('/').rstrip(chr(92))}/{filename}" for s in sources]
    for candidate in joined:
        if (root / candidate).is_file():  # an absolute candidate stays absolute
            return candidate
    if (root / filename).is_file() or not joined:
        return filename
    return joined[0]


def _coverage(key: str, parsed: _File) -> FileCoverage:
    missing = sorted(n for n, line in parsed.lines.items() if line.hits == 0)
    arcs = sorted((n, to) for n, line in parsed.lines.items() for to in line.missing_to)
    partial = sum(1 for line in parsed.lines.values() if line.hits and line.taken < line.total)
    return FileCoverage(
        path=key,
        statements=len(parsed.lines),
        missing_lines=tuple(missing),
        branches=sum(line.total for line in parsed.lines.values()),
        missing_branches=tuple(arcs),
        partial_branches=partial,
        executable_lines=frozenset(parsed.lines),
    )
