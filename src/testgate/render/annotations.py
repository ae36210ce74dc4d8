"""GitHub Actions workflow commands (`::error file=...,line=...::message`) for the checks."""

from __future__ import annotations

from testgate._escape import visible
from testgate.checks import Annotation, GateResult, Status

MAX_ANNOTATIONS = 50  # GitHub shows at most 10 per step and 50 per job


def _data(text: str) -> str:
    """The runner decodes %25, %0D, %0A; every other control character is shown escaped."""
    return visible(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def command(a: Annotation, *, level: str | None = None) -> str:
    props = [f"file={_prop(a.file)}"]
    if a.line is not None:
        props.append(f"line={a.line}")
    return f"::{level or a.level} {','.join(props)}::{_data(a.message)}"


def render(result: GateResult) -> list[str]:
    """Errors for failing checks, warnings for informational ones, notices for the rest
    (uncovered changed lines within budget are still worth a reviewer's look)."""
    levels = {Status.FAIL: "error", Status.WARN: "warning", Status.PASS: "notice"}
    out: list[str] = []
    for check in sorted(result.checks, key=lambda c: list(levels).index(c.status)):
        out.extend(command(a, level=levels[check.status]) for a in check.annotations)
    return out[:MAX_ANNOTATIONS]
