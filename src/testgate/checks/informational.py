"""`informational = [...]`: the checks a project lets warn instead of fail."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from testgate.model.checkids import never_informational
from testgate.model.results import CheckResult, Status


def downgrade(
    checks: Iterable[CheckResult], is_informational: Callable[[str], bool]
) -> list[CheckResult]:
    """Informational checks warn instead of failing; inputs never do (fail closed), nor
    failing tests (`informational = ["tests"]` covers the other tests.* checks)."""
    out = []
    for c in checks:
        if c.status is Status.FAIL and not never_informational(c.id) and is_informational(c.id):
            c = dataclasses.replace(c, status=Status.WARN, message=c.message + " (informational)")
        out.append(c)
    return out
