"""`reports/gate.md`: GitHub-flavoured Markdown for job summaries and PR comments."""

from __future__ import annotations

import html

from testgate import _escape as escape
from testgate.checks import GateResult, Status
from testgate.render.text import value, verdict

_ICON = {Status.PASS: "✅ pass", Status.FAIL: "❌ fail", Status.WARN: "⚠️ warn"}
MAX_DETAILS = 200


def _cell(text: str) -> str:
    return escape.markdown(text)


def render(result: GateResult, *, name: str = "gate") -> str:
    icon = "✅" if result.passed else "❌"
    lines = [
        f"## {icon} testgate {verdict(result, name)}",
        "",
        "| Check | Actual | Limit | Status | Message |",
        "|---|---:|---:|---|---|",
    ]
    for c in result.checks:
        lines.append(
            f"| {escape.markdown_code(c.id)} | {_cell(value(c.id, c.actual))}"
            f" | {_cell(value(c.id, c.limit))} | {_ICON[c.status]} | {_cell(c.message)} |"
        )
    for c in result.checks:
        shown_when_passing = ("coverage.modules", "durations.max_session")  # per module, samples
        if not c.details or (c.status is Status.PASS and not c.id.startswith(shown_when_passing)):
            continue
        shown = [escape.visible(d) for d in c.details[:MAX_DETAILS]]  # one line each
        more = len(c.details) - len(shown)
        body = "\n".join(shown) + (f"\n... and {more} more" if more else "")
        lines += [
            "",
            f"<details><summary><code>{html.escape(escape.visible(c.id))}</code>"
            f" ({len(c.details)})</summary>",
            "",
            "```",
            escape.code_block(body),
            "```",
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"
