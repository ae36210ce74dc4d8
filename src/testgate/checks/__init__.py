"""Checks: pure functions from (data, budget) to a `CheckResult`."""

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
