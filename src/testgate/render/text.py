"""The terminal table: one row per check, actual vs limit, the verdict last."""

from __future__ import annotations

import os
from typing import TextIO

from testgate._escape import no_command, visible
from testgate.checks import CheckResult, GateResult, Status
from testgate.checks._common import plural
from testgate.model.checkids import Unit, unit

_COLORS = {Status.PASS: "32", Status.FAIL: "31;1", Status.WARN: "33"}
MAX_DETAILS = 10


def use_color(stream: TextIO) -> bool:
    """Only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def value(check_id: str, v: float | int | str | None) -> str:
    """A check's actual or limit, with its unit."""
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    kind = unit(check_id)
    if kind is Unit.RATIO:
        return f"{v:g}x"
    if kind is Unit.SECONDS:
        return f"{v:.2f} s" if isinstance(v, float) else f"{v} s"
    if kind is Unit.PERCENT:
        return f"{v:g}%"
    return f"{v:g}" if isinstance(v, float) else str(v)


def verdict(result: GateResult, name: str = "gate") -> str:
    failed = len(result.failed)
    warned = sum(1 for c in result.checks if c.status is Status.WARN)
    word = "PASSED" if result.passed else "FAILED"
    return (
        f"{name} {word}: {plural(len(result.checks), 'check')}, {failed} failed, "
        f"{plural(warned, 'warning')}"
    )


def _paint(text: str, st: Status, color: bool) -> str:
    return f"\x1b[{_COLORS[st]}m{text}\x1b[0m" if color else text


def render(result: GateResult, *, color: bool = False, name: str = "gate") -> str:
    rows = [("CHECK", "ACTUAL", "LIMIT", "STATUS")]
    rows += [
        (
            visible(c.id),
            visible(value(c.id, c.actual)),
            visible(value(c.id, c.limit)),
            c.status.value.upper(),
        )
        for c in result.checks
    ]
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for n, (cid, act, lim, st) in enumerate(rows):
        line = f"{cid:<{w[0]}}  {act:>{w[1]}}  {lim:>{w[2]}}  "
        lines.append(line + (st if n == 0 else _paint(st, result.checks[n - 1].status, color)))
    notes = [c for c in result.checks if c.status is not Status.PASS]
    if notes:
        lines.append("")
    for c in notes:
        lines.extend(_note(c, color))
    lines.append("")
    overall = Status.PASS if result.passed else Status.FAIL
    lines.append(_paint(verdict(result, name), overall, color))
    return "\n".join(lines) + "\n"


def _note(check: CheckResult, color: bool) -> list[str]:
    head = f"{visible(check.id)}: {visible(check.message)}"
    out = [f"{_paint(check.status.value.upper(), check.status, color)} {head}"]
    out += [no_command(f"    {visible(d)}") for d in check.details[:MAX_DETAILS]]
    if len(check.details) > MAX_DETAILS:
        out.append(f"    ... {len(check.details) - MAX_DETAILS} more in gate.md")
    return out
