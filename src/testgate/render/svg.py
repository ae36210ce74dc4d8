"""Inline SVG charts for the HTML report: no library, no script, every label escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

# Duration buckets (seconds): the spread of a test suite is logarithmic.
DURATION_EDGES = (0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def _fmt(value: float, unit: str) -> str:
    if unit == "count":
        return f"{value:.0f}"
    if unit == "%":
        return f"{value:.2f}%"
    if unit == "s":
        return f"{value:.2f}s" if value < 100 else f"{value:.0f}s"
    return f"{value:g}"


def _nice_range(lo: float, hi: float, unit: str) -> tuple[float, float]:
    if unit == "%":
        span = max(hi - lo, 2.0)
        return max(0.0, lo - span * 0.25), min(100.0, hi + span * 0.25)
    if unit == "count":
        return 0.0, float(max(2, math.ceil(hi)) + max(2, math.ceil(hi)) % 2)  # even: integer mid
    if hi == lo:
        return 0.0, hi * 2 if hi else 1.0
    return 0.0, hi * 1.15


def line_chart(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    width: int = 520,
    height: int = 170,
    css_class: str = "chart",
) -> str:
    """A line chart of (label, value) points, oldest first; labels go into <title> tooltips."""
    pad_l, pad_r, pad_t, pad_b = 56, 12, 26, 26
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    values = [v for _, v in points]
    lo, hi = _nice_range(min(values), max(values), unit) if values else (0.0, 1.0)
    span = (hi - lo) or 1.0

    def x(i: int) -> float:
        return pad_l + (w * i / (len(points) - 1) if len(points) > 1 else w / 2)

    def y(v: float) -> float:
        return pad_t + h - (v - lo) / span * h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{pad_l}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for frac in (0.0, 0.5, 1.0):
        v = lo + span * frac
        parts.append(
            f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="axis">'
            f"{escape(_fmt(v, unit))}</text>"
        )
    if points:
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
        parts.append(f'<polyline points="{path}" class="line" fill="none"/>')
        for i, (label, v) in enumerate(points):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" class="dot">'
                f"<title>{escape(label)}: {escape(_fmt(v, unit))}</title></circle>"
            )
        parts.append(
            f'<text x="{pad_l}" y="{height - 8}" class="axis">{escape(points[0][0])}</text>'
            f'<text x="{pad_l + w}" y="{height - 8}" text-anchor="end" class="axis">'
            f"{escape(points[-1][0])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _edge_label(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"


def duration_buckets(durations: Sequence[float]) -> list[tuple[str, int]]:
    """(label, count) per bucket of DURATION_EDGES, the last one open-ended."""
    counts = [0] * len(DURATION_EDGES)
    for d in durations:
        i = len(DURATION_EDGES) - 1
        while i > 0 and d < DURATION_EDGES[i]:
            i -= 1
        counts[i] += 1
    labels = [
        f"<{_edge_label(DURATION_EDGES[i + 1])}"
        if i + 1 < len(DURATION_EDGES)
        else f">={_edge_label(DURATION_EDGES[i])}"
        for i in range(len(DURATION_EDGES))
    ]
    # Trim empty buckets at both ends, but keep one bucket at least.
    first = next((i for i, c in enumerate(counts) if c), 0)
    last = max((i for i, c in enumerate(counts) if c), default=0)
    return list(zip(labels, counts, strict=True))[first : last + 1]


def histogram(
    buckets: Sequence[tuple[str, int]], *, title: str, width: int = 520, height: int = 190
) -> str:
    """Vertical bars, one per (label, count); a log-height scale keeps small buckets visible."""
    pad_l, pad_r, pad_t, pad_b = 12, 12, 38, 40  # room above the tallest bar for its count
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max((c for _, c in buckets), default=0)
    scale = math.log1p(top) or 1.0
    slot = w / max(len(buckets), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart histogram" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{pad_l}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for i, (label, count) in enumerate(buckets):
        bh = h * math.log1p(count) / scale
        bx = pad_l + i * slot + 2
        parts.append(
            f'<rect x="{bx:.1f}" y="{pad_t + h - bh:.1f}" width="{max(slot - 4, 1):.1f}" '
            f'height="{bh:.1f}" class="bar"><title>{escape(label)}: {count} tests</title></rect>'
            f'<text x="{bx + (slot - 4) / 2:.1f}" y="{pad_t + h - bh - 3:.1f}" '
            f'text-anchor="middle" class="axis">{count}</text>'
            f'<text x="{bx + (slot - 4) / 2:.1f}" y="{height - 22}" text-anchor="middle" '
            f'class="axis">{escape(label)}</text>'
        )
    parts.append(
        f'<text x="{pad_l}" y="{height - 4}" class="axis">test duration (bar height: log scale)'
        "</text></svg>"
    )
    return "".join(parts)


def meter(percent: float, minimum: float | None, *, width: int = 260, height: int = 16) -> str:
    """A horizontal bar of `percent`, with a tick at `minimum`; red below it."""
    pc = min(max(percent, 0.0), 100.0)
    ok = minimum is None or percent >= minimum
    label = f"{percent:.2f}%" + (f" (minimum {minimum:g}%)" if minimum is not None else "")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="meter" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(label)}</title>',
        f'<rect x="0" y="2" width="{width}" height="{height - 4}" class="meter-bg"/>',
        f'<rect x="0" y="2" width="{width * pc / 100:.1f}" height="{height - 4}" '
        f'class="{"meter-ok" if ok else "meter-bad"}"/>',
    ]
    if minimum is not None:
        mx = width * min(max(minimum, 0.0), 100.0) / 100
        parts.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="0" y2="{height}" class="meter-min"/>')
    parts.append("</svg>")
    return "".join(parts)
