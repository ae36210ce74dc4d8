"""Shields-style SVG badges (coverage, tests, flaky), written without a network service."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from testgate import _atomic
from testgate.checks import GateResult
from testgate.model import CoverageData, JUnitReport, Totals, display_percent
from testgate.model.flaky import FlakyReport

COLORS = {
    "brightgreen": "#4c1",
    "green": "#97ca00",
    "yellowgreen": "#a4a61d",
    "yellow": "#dfb317",
    "orange": "#fe7d37",
    "red": "#e05d44",
    "lightgrey": "#9f9f9f",
}

# Verdana 11px advance widths, roughly: enough to size a badge without a font file.
_NARROW = set("fijlrt1.,:;!|()[] ")
_WIDE = set("mwMW%")


def text_width(text: str) -> int:
    return int(sum(4 if c in _NARROW else 10 if c in _WIDE else 7 for c in text)) + 10


def badge(label: str, value: str, color: str) -> str:
    lw, vw = text_width(label), text_width(value)
    total = lw + vw
    fill = COLORS.get(color, color)
    lab, val = escape(label), escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{lab}: {val}"><title>{lab}: {val}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{vw}" height="20" fill="{fill}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{lw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{lab}</text>'
        f'<text x="{lw / 2:.1f}" y="14">{lab}</text>'
        f'<text x="{lw + vw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{val}</text>'
        f'<text x="{lw + vw / 2:.1f}" y="14">{val}</text></g></svg>\n'
    )


def coverage_color(pc: float) -> str:
    for floor, color in (
        (90, "brightgreen"),
        (80, "green"),
        (70, "yellowgreen"),
        (60, "yellow"),
        (50, "orange"),
    ):
        if pc >= floor:
            return color
    return "red"


def flaky_count(flaky: FlakyReport | None) -> int | None:
    return None if flaky is None else len(flaky.flaky)


def write_badges(
    dir: Path,
    *,
    result: GateResult,
    reports: Sequence[JUnitReport],
    coverage: CoverageData | None,
    flaky: FlakyReport | None,
) -> list[Path]:
    """coverage.svg, tests.svg and flaky.svg in `dir`; unknown values are grey, never green."""
    del result  # the verdict has its own report; badges show the numbers behind it
    if coverage is not None and coverage.files:
        pc = coverage.totals.percent
        cov = badge("coverage", display_percent(pc, coverage.precision) + "%", coverage_color(pc))
    else:
        cov = badge("coverage", "unknown", "lightgrey")
    totals = sum((r.totals for r in reports), start=Totals())
    bad = totals.failed + totals.errors
    if totals.tests == 0:
        tests = badge("tests", "none", "red")
    elif bad:
        tests = badge("tests", f"{bad} failed, {totals.passed} passed", "red")
    else:
        skipped = f", {totals.skipped} skipped" if totals.skipped else ""
        skipped += f", {totals.xfailed} xfailed" if totals.xfailed else ""
        tests = badge("tests", f"{totals.passed} passed{skipped}", "brightgreen")
    n = flaky_count(flaky)
    flakes = (
        badge("flaky", "unknown", "lightgrey")
        if n is None
        else badge("flaky", str(n), "brightgreen" if n == 0 else "red")
    )
    return [
        _atomic.write_text(dir / "coverage.svg", cov),
        _atomic.write_text(dir / "tests.svg", tests),
        _atomic.write_text(dir / "flaky.svg", flakes),
    ]
