"""What a gate run decides: one `CheckResult` per check, gathered in a `GateResult`."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(str, enum.Enum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    FAIL = "fail"
    WARN = "warn"


@dataclass(frozen=True)
class Annotation:
    """A place in the source a CI system can point at (GitHub `::error file=...,line=...::`)."""

    file: str
    line: int | None
    message: str
    level: str = "error"


@dataclass(frozen=True)
class CheckResult:
    id: str  # e.g. "coverage.total", "coverage.modules:src/pkg/core/*", "inputs.junit"
    status: Status
    message: str
    actual: float | int | str | None = None
    limit: float | int | str | None = None
    details: tuple[str, ...] = ()
    annotations: tuple[Annotation, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status is not Status.FAIL


@dataclass(frozen=True)
class GateResult:
    """Every check of one gate run; what the renderers and the history store receive."""

    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.status is Status.FAIL)
