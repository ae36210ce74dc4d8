"""GitHub Actions workflow commands (`::error file=...,line=...::message`) for the checks."""

from __future__ import annotations

from testgate.checks import Annotation, GateResult, Status

MAX_ANNOTATIONS = 50  # GitHub shows at most 10 per step and 50 per job


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def command(a: Annotation, *, level: str | None = None) -> str:
    props = [f"file={_prop(a.file)}"]
    if a.line is not None:
        props.append(f"line={a.line}")
    return f"::{level or a.level} {','.join(props)}::{_data(a.message)}"


def render(result: GateResult) -> list[str]:
    """Annotations of failing checks as errors, of informational ones as warnings."""
    out: list[str] = []
    for check in result.checks:
        if check.status is Status.PASS:
            continue
        level = "error" if check.status is Status.FAIL else "warning"
        out.extend(command(a, level=level) for a in check.annotations)
    return out[:MAX_ANNOTATIONS]
