"""coverage.py's JSON report (`coverage json`, format 2 or 3) as `CoverageData`.

The report is trusted only as far as it is consistent: every field is type-checked and the
totals must agree with the files (a hand-edited or truncated report is refused).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from testgate._safeio import load_json, read_bytes
from testgate.errors import InputError
from testgate.model import CoverageData, FileCoverage
from testgate.read.coverage_paths import to_project_paths

MAX_BYTES = 256 * 1024 * 1024


class _Bad(Exception):
    pass


def read_json_report(path: Path, root: Path, default_precision: Callable[[], int]) -> CoverageData:
    display = str(path)
    raw = read_bytes(path, limit=MAX_BYTES, shown=display)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{display}: not UTF-8 text, not a coverage.py JSON report") from None
    try:
        doc = load_json(text, display)
    except InputError as exc:
        raise InputError(f"{exc.message}; write it again with `coverage json`") from None
    try:
        return _parse(doc, display, root, default_precision)
    except _Bad as exc:
        raise InputError(
            f"{display}: not a coverage.py JSON report ({exc}); write it with `coverage json`"
        ) from None


def _parse(
    doc: Any, display: str, root: Path, default_precision: Callable[[], int]
) -> CoverageData:
    if not isinstance(doc, dict):
        raise _Bad("the top level is not an object")
    meta = _obj(doc.get("meta", {}), "meta")
    files = _obj(doc.get("files"), "files")
    totals = _obj(doc.get("totals"), "totals")
    has_branches = meta.get("branch_coverage")
    if not isinstance(has_branches, bool):
        has_branches = "num_branches" in totals
    keys = to_project_paths(list(files), root)
    result: dict[str, FileCoverage] = {}
    for name, entry in files.items():
        key = keys[name]
        result[key] = _file(key, _obj(entry, f"files[{name!r}]"), f"files[{name!r}]")
    statements = sum(f.statements for f in result.values())
    missing = sum(f.missing for f in result.values())
    if (
        _int(totals.get("num_statements"), "totals.num_statements") != statements
        or _int(totals.get("missing_lines"), "totals.missing_lines") != missing
    ):
        raise InputError(
            f"{display}: its totals disagree with its files (edited or truncated?);"
            " write it again with `coverage json`"
        )
    display_pc = totals.get("percent_covered_display")
    if isinstance(display_pc, str) and display_pc.replace(".", "", 1).isdigit():
        precision = len(display_pc.partition(".")[2])
    else:
        precision = default_precision()
    return CoverageData(
        files=result, precision=precision, has_branches=has_branches, source=display
    )


def _file(key: str, entry: dict[str, Any], where: str) -> FileCoverage:
    summary = _obj(entry.get("summary"), f"{where}.summary")
    statements = _int(summary.get("num_statements"), f"{where}.summary.num_statements")
    missing = _lines(entry.get("missing_lines"), f"{where}.missing_lines")
    executed = _lines(entry.get("executed_lines", []), f"{where}.executed_lines")
    excluded = _lines(entry.get("excluded_lines", []), f"{where}.excluded_lines")
    arcs = entry.get("missing_branches", [])
    if not isinstance(arcs, list) or not all(
        isinstance(a, list) and len(a) == 2 and all(_is_int(x) for x in a) for a in arcs
    ):
        raise _Bad(f"{where}.missing_branches is not a list of [from, to] pairs")
    # Executed lines include excluded lines that ran; statements are what is left.
    executable = (set(executed) - set(excluded)) | set(missing)
    return FileCoverage(
        path=key,
        statements=statements,
        missing_lines=tuple(sorted(missing)),
        excluded=len(excluded),
        branches=_int(summary.get("num_branches", 0), f"{where}.summary.num_branches"),
        missing_branches=tuple(sorted((a, b) for a, b in arcs)),
        partial_branches=_int(
            summary.get("num_partial_branches", 0), f"{where}.summary.num_partial_branches"
        ),
        executable_lines=frozenset(executable),
    )


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{where} is missing or not an object")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: Any, where: str) -> int:
    if not _is_int(value) or value < 0:
        raise _Bad(f"{where} is missing or not a count")
    return int(value)


def _lines(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or not all(_is_int(v) and v > 0 for v in value):
        raise _Bad(f"{where} is not a list of line numbers")
    return value
