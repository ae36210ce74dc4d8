"""reports/index.html: one self-contained page a person wants to open.

No network (a Content-Security-Policy forbids every fetch), no fonts, no CDN; readable without
JavaScript, which only makes tables sortable. Every name that came from a test run (node ids,
messages, paths) is escaped: test names are untrusted input.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import heapq
import posixpath
import shlex
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from testgate import __version__, _atomic
from testgate._escape import visible_lines
from testgate._glob import glob_match
from testgate.checks import GateResult, Status
from testgate.checks._common import plural
from testgate.model import CoverageData, CoverageTotals, JUnitReport, Totals, display_percent
from testgate.model.flaky import FlakyReport, FlakyTest, bound_line
from testgate.model.history import FlakyStat, HistoryView, RunRow
from testgate.render import svg
from testgate.render.badges import flaky_count

SLOWEST = 25
STYLE = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --fg: #1f2328; --muted: #59636e;
  --line: #d1d9e0; --bg: #fff; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; max-width: 1180px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 17px; margin: 28px 0 8px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.verdict { display: flex; flex-wrap: wrap; gap: 12px 28px; align-items: center; padding: 14px 18px;
  border-radius: 8px; border: 2px solid; }
.verdict.pass { border-color: var(--ok); background: #dafbe1; }
.verdict.fail { border-color: var(--bad); background: #ffebe9; }
.verdict .word { font-size: 26px; font-weight: 700; letter-spacing: .04em; }
.pass .word { color: var(--ok); } .fail .word { color: var(--bad); }
.stat b { display: block; font-size: 18px; } .stat span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { word-break: break-all; font-family: ui-monospace, Menlo, Consolas, monospace;
  font-size: 12.5px; }
td.check { word-break: normal; white-space: nowrap; }
code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--soft); padding: 6px 8px; white-space: pre-wrap; word-break: break-all;
  margin: 2px 0; }
.status { font-weight: 700; text-transform: uppercase; font-size: 12px; }
.status-pass { color: var(--ok); } .status-fail { color: var(--bad); }
.status-warn { color: var(--warn); }
.muted { color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { background: var(--soft); border-radius: 6px; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: var(--fg); }
svg .axis { font-size: 10.5px; fill: var(--muted); }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .line { stroke: #0969da; stroke-width: 2; }
svg .dot { fill: #0969da; }
svg .bar { fill: #8250df; }
svg .meter-bg { fill: #eaeef2; } svg .meter-ok { fill: var(--ok); }
svg .meter-bad { fill: var(--bad); } svg .meter-min { stroke: var(--fg); stroke-width: 2; }
th.sortable { cursor: pointer; } th.sortable::after { content: " \\2195"; color: var(--muted); }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
"""

SCRIPT = """
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v") || "";
    var n = Number(v);
    return v !== "" && !isNaN(n) ? { n: true, v: n } : { n: false, v: v.toLowerCase() };
  }
  function sortBy(table, col, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var desc = th.getAttribute("aria-sort") === "ascending";
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      var c = x.n && y.n ? x.v - y.v : String(x.v).localeCompare(String(y.v));
      return desc ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", desc ? "descending" : "ascending");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.classList.add("sortable");
      th.addEventListener("click", function () { sortBy(table, col, th); });
    });
  });
  document.documentElement.setAttribute("data-js", "ready");
})();
"""


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


# The page's one style and one script are allowed by their hashes: an element smuggled into
# the page (were escaping ever to fail) would not run, as it would under 'unsafe-inline'.
CSP = (
    f"default-src 'none'; style-src {_sha256(STYLE)}; script-src {_sha256(SCRIPT)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def _e(value: object) -> str:
    """HTML-escaped, control characters shown (HTML has no way to mean them)."""
    return escape(visible_lines(str(value)), quote=True)


def _num(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return "" if value is None else str(value)


def _table(
    headers: Sequence[tuple[str, bool]], rows: Iterable[Sequence[tuple[str, object, str]]]
) -> str:
    """headers: (title, numeric); cells: (html, sort value, css class)."""
    head = "".join(f'<th class="{"num" if n else ""}" scope="col">{_e(t)}</th>' for t, n in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{_e(cls)}" data-v="{_e(v)}">{html}</td>' for html, v, cls in row
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _stat(value: str, label: str) -> str:
    return f'<div class="stat"><b>{_e(value)}</b><span>{_e(label)}</span></div>'


def _verdict(
    result: GateResult, totals: Totals, coverage: CoverageData | None, flaky_n: int | None
) -> str:
    word, cls = ("PASSED", "pass") if result.passed else ("FAILED", "fail")
    failed_checks = len(result.failed)
    stats = [
        _stat(f"{len(result.checks) - failed_checks}/{len(result.checks)}", "checks passed"),
        _stat(str(totals.tests), "tests"),
        _stat(str(totals.failed + totals.errors), "failed"),
        _stat(str(totals.skipped), "skipped"),
        _stat(str(totals.xfailed), "xfailed"),
    ]
    if coverage is not None and coverage.files:
        pc = display_percent(coverage.totals.percent, coverage.precision)
        stats.append(_stat(pc + "%", "coverage"))
    stats.append(_stat(f"{totals.seconds:.2f}s", "test time (sum of test durations)"))
    if flaky_n is not None:
        stats.append(_stat(str(flaky_n), "flaky"))
    return (
        f'<section class="verdict {cls}" id="verdict"><div class="word">{word}</div>'
        + "".join(stats)
        + "</section>"
    )


def _checks(result: GateResult) -> str:
    if not result.checks:
        return '<p class="muted">No checks ran.</p>'
    order = {Status.FAIL: 0, Status.WARN: 1, Status.PASS: 2}
    rows = [
        (
            (
                f'<span class="status status-{c.status.value}">{c.status.value}</span>',
                order[c.status],
                "",
            ),
            (_e(c.id), c.id, "id check"),
            (_e(_num(c.actual)), _num(c.actual), "num"),
            (_e(_num(c.limit)), _num(c.limit), "num"),
            (_e(c.message) + "".join(f"<pre>{_e(d)}</pre>" for d in c.details[:20]), c.message, ""),
        )
        for c in sorted(result.checks, key=lambda c: (order[c.status], c.id))
    ]
    return _table(
        [
            ("status", False),
            ("check", False),
            ("actual", True),
            ("limit", True),
            ("message", False),
        ],
        rows,
    )


def _modules(
    result: GateResult, coverage: CoverageData | None, modules: Mapping[str, float] | None
) -> list[tuple[str, float, float | None]]:
    """(name, percent, minimum): the budgeted globs first, then each source folder as the glob
    `folder/*` (its own files, aggregated as `coverage.modules` aggregates)."""
    out: dict[str, tuple[float, float | None]] = {}
    for c in result.checks:
        if c.id == "coverage.total" and isinstance(c.actual, (int, float)):
            limit = c.limit if isinstance(c.limit, (int, float)) else None
            out["total"] = (float(c.actual), limit)
        elif c.id.startswith("coverage.modules:") and isinstance(c.actual, (int, float)):
            limit = c.limit if isinstance(c.limit, (int, float)) else None
            out[c.id.partition(":")[2]] = (float(c.actual), limit)
    if coverage is None:
        return [(k, v[0], v[1]) for k, v in out.items()]
    if "total" not in out and coverage.files:
        out["total"] = (coverage.totals.percent, None)
    for glob, minimum in (modules or {}).items():
        if glob not in out:
            chosen = [f for p, f in coverage.files.items() if glob_match(glob, p)]
            if chosen:
                pc = CoverageData({f.path: f for f in chosen}).totals.percent
                out[glob] = (pc, minimum)
    folders: dict[str, list[Any]] = defaultdict(list)
    for path, f in coverage.files.items():
        folders[posixpath.dirname(path) + "/*"].append(f)
    for folder in sorted(folders):
        if folder not in out:
            out[folder] = (CoverageTotals.of(folders[folder]).percent, None)
    return [(k, v[0], v[1]) for k, v in out.items()]


def _coverage_section(rows: list[tuple[str, float, float | None]], precision: int) -> str:
    """Percentages with the precision of coverage.py's report and of the checks."""
    if not rows:
        return '<p class="muted">No coverage data.</p>'
    body = [
        (
            (_e(name), name, "id"),
            (svg.meter(pc, minimum), pc, ""),
            (f"{display_percent(pc, precision)}%", pc, "num"),
            (f"{minimum:g}%" if minimum is not None else "", minimum or "", "num"),
        )
        for name, pc, minimum in rows
    ]
    return _table(
        [("module", False), ("coverage", False), ("percent", True), ("minimum", True)], body
    )


def _outcome_cell(case: Any) -> tuple[str, object, str]:
    value = case.outcome.value
    cls = "status-fail" if case.failed else ("status-pass" if value == "passed" else "")
    return (f'<span class="status {cls}">{_e(value)}</span>', value, "")


def _slowest(reports: Sequence[JUnitReport]) -> str:
    sessions = [(r.cases, Path(r.path).stem) for r in reports]
    if not any(cases for cases, _ in sessions):
        return '<p class="muted">No tests ran.</p>'
    slowest = heapq.nlargest(
        SLOWEST,
        ((c, session) for cases, session in sessions for c in cases),
        key=lambda cs: cs[0].duration,
    )
    rows = [
        (
            (_e(c.node_id), c.node_id, "id"),
            (f"{c.duration:.3f}", f"{c.duration:.6f}", "num"),
            _outcome_cell(c),
            (_e(session), session, ""),
        )
        for c, session in slowest
    ]
    return _table(
        [("test", False), ("seconds", True), ("outcome", False), ("session", False)], rows
    )


def _failures(reports: Sequence[JUnitReport]) -> str:
    failed = [c for r in reports for c in r.cases if c.failed]
    if not failed:
        return ""
    rows = [
        (
            (_e(c.node_id), c.node_id, "id"),
            _outcome_cell(c),
            (f"<pre>{_e((c.message or '')[:2000])}</pre>", c.message or "", ""),
        )
        for c in failed[:200]
    ]
    more = f'<p class="muted">and {len(failed) - 200} more</p>' if len(failed) > 200 else ""
    return (
        f'<h2 id="failures">Failed tests ({len(failed)})</h2>'
        + _table([("test", False), ("outcome", False), ("message", False)], rows)
        + more
    )


def _evidence(hunted: Sequence[FlakyTest]) -> str:
    """Each explained test's evidence table: the controlled runs its claim rests on."""
    blocks = []
    for t in hunted:
        if not t.evidence:
            continue
        rows = "".join(
            f"<tr><td>{_e(e.condition)}</td><td class='num'>{e.runs}</td>"
            f"<td class='num'>{e.failed}</td></tr>"
            for e in t.evidence
        )
        fix = ""
        if t.fix is not None:
            state = "verified in a scratch copy" if t.fix.get("verified") else "not verified"
            patch = _e(str(t.fix.get("patch")))
            fix = f"<p>Suggested fix (not applied, {state}): <code>{patch}</code></p>"
        p = "" if t.p_chance is None else f" (p_chance {t.p_chance:.2g})"
        blocks.append(
            f"<details><summary><code>{_e(t.id)}</code>: "
            f"{_e(t.cause or ', '.join(t.leaked) or 'not shown')}{_e(p)}</summary>"
            "<table><thead><tr><th>condition</th><th>runs</th><th>failed</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{fix}</details>"
        )
    if not blocks:
        return ""
    return "<h3>Why</h3>" + "".join(blocks)


def _flaky_section(flaky: FlakyReport | None, history_flaky: Sequence[FlakyStat]) -> str:
    parts = []
    if flaky is not None:
        hunted = flaky.flaky
        count = "?" if flaky.meta.count is None else flaky.meta.count
        if flaky.meta.alpha is not None:
            parts.append(f"<p>{_e(bound_line(flaky.meta.alpha))}</p>")
        if hunted:
            rows = []
            for t in hunted:
                rate = t.flake_rate or 0.0
                ci = f" ({t.interval[0]:.0%}-{t.interval[1]:.0%})" if t.interval else ""
                kind = _e(t.kind or "")
                if t.culprit:
                    kind += f"<br><span class='muted'>after</span> <code>{_e(t.culprit)}</code>"
                why = t.cause or ", ".join(t.leaked)
                if why:
                    label = "cause" if t.cause else "leaked"
                    kind += f"<br><span class='muted'>{label}</span> <code>{_e(why)}</code>"
                rows.append(
                    (
                        (_e(t.id), t.id, "id"),
                        (kind, t.kind or "", ""),
                        (f"{rate:.0%}{ci}", f"{rate:.4f}", "num"),
                        (f"{t.failed}/{t.runs}", t.failed, "num"),
                        (f"<pre>{_e(t.repro or '')}</pre>", t.repro or "", ""),
                    )
                )
            parts.append(
                f"<p>Flake hunt: {len(hunted)} flaky of "
                f"{plural(len(flaky.tests), 'test')} in "
                f"{_e(count)} runs.</p>"
                + _table(
                    [
                        ("test", False),
                        ("kind", False),
                        ("rate", True),
                        ("failed", True),
                        ("repro", False),
                    ],
                    rows,
                )
                + _evidence(hunted)
            )
        else:
            parts.append(
                f"<p>Flake hunt: no flaky test among "
                f"{plural(len(flaky.tests), 'test')} in "
                f"{_e(count)} runs.</p>"
            )
    if history_flaky:
        rows = [
            (
                (_e(t.node_id), t.node_id, "id"),
                (_e(t.kind or "cross-run"), t.kind or "cross-run", ""),
                (f"{t.rate:.0%}", f"{t.rate:.4f}", "num"),
                (f"{t.flaked}/{t.runs}", t.flaked, "num"),
                (
                    f"<pre>{_e(t.repro)}</pre>"
                    if t.repro
                    else f"<pre>python -m pytest {_e(shlex.quote(t.node_id))}</pre>",
                    t.repro or "",
                    "",
                ),
            )
            for t in history_flaky
        ]
        parts.append(
            "<p>From the history: tests that failed and passed on the same commit.</p>"
            + _table(
                [
                    ("test", False),
                    ("kind", False),
                    ("rate", True),
                    ("flaked runs", True),
                    ("repro", False),
                ],
                rows,
            )
        )
    if not parts:
        return '<p class="muted">No flake hunt ran and the history shows no flaky test.</p>'
    return "".join(parts)


def _history(history: HistoryView | None) -> tuple[str, list[FlakyStat]]:
    """Trend charts (when history has more than one run) and the tests it labels flaky."""
    if history is None:
        return "", []
    runs, flaky = history.runs, history.flaky
    if len(runs) < 2:
        return "", list(flaky.active)

    def label(r: RunRow) -> str:
        return f"run {r.id} {r.time[:16].replace('T', ' ')} {(r.commit or '')[:8]}".strip()

    charts = []
    cov = [(label(r), r.coverage) for r in runs if r.coverage is not None]
    if len(cov) > 1:
        charts.append(svg.line_chart(cov, title="Coverage", unit="%", css_class="chart trend"))
    charts.append(
        svg.line_chart(
            [(label(r), r.seconds) for r in runs],
            title="Suite time",
            unit="s",
            css_class="chart trend",
        )
    )
    charts.append(
        svg.line_chart(
            [(label(r), float(max(r.flaky, flaky.per_run.get(r.id, 0)))) for r in runs],
            title="Flaky tests",
            unit="count",
            css_class="chart trend",
        )
    )
    html = (
        f'<h2 id="trends">Trends (last {len(runs)} runs)</h2><div class="charts">'
        + "".join(charts)
        + "</div>"
    )
    return html, list(flaky.active)


def render_html(
    *,
    result: GateResult,
    reports: Sequence[JUnitReport],
    coverage: CoverageData | None,
    flaky: FlakyReport | None,
    history: HistoryView | None,
    modules: Mapping[str, float] | None = None,
    title: str = "testgate report",
    now: dt.datetime | None = None,
) -> str:
    totals = sum((r.totals for r in reports), start=Totals())
    trends, history_flaky = _history(history)
    durations = [c.duration for r in reports for c in r.cases]
    when = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    sessions = ", ".join(
        f"{Path(r.path).stem} ({plural(r.totals.tests, 'test')}, "
        f"{r.seconds:.2f}s session wall time)"
        for r in reports
    )
    histogram = (
        svg.histogram(svg.duration_buckets(durations), title="Duration distribution")
        if durations
        else '<p class="muted">No tests ran.</p>'
    )
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted">{_e(when)} &middot; sessions: {_e(sessions) or "none"}</p>',
        _verdict(result, totals, coverage, flaky_count(flaky)),
        f'<h2 id="checks">Checks ({len(result.checks)})</h2>',
        _checks(result),
        _failures(reports),
        '<h2 id="coverage">Coverage by module</h2>',
        _coverage_section(
            _modules(result, coverage, modules), coverage.precision if coverage else 0
        ),
        trends,
        '<h2 id="flaky">Flaky tests</h2>',
        _flaky_section(flaky, history_flaky),
        f'<h2 id="slowest">Slowest tests (top {SLOWEST})</h2>',
        _slowest(reports),
        '<h2 id="durations">Duration distribution</h2>',
        f'<div class="charts">{histogram}</div>',
        f"<footer>testgate {_e(__version__)}: one self-contained file, no network.</footer>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{_e(title)}: {'passed' if result.passed else 'FAILED'}</title>"
        f"<style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(p for p in body if p)
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def write_html_report(
    path: Path,
    *,
    result: GateResult,
    reports: Sequence[JUnitReport],
    coverage: CoverageData | None,
    flaky: FlakyReport | None,
    history: HistoryView | None,
    modules: Mapping[str, float] | None = None,
) -> Path:
    """Write the report atomically; `modules` (coverage.modules budgets) adds bars for globs
    the gate result has no check for."""
    return _atomic.write_text(
        path,
        render_html(
            result=result,
            reports=reports,
            coverage=coverage,
            flaky=flaky,
            history=history,
            modules=modules,
        ),
    )
