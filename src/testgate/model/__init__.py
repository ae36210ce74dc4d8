"""Values every part of testgate shares: test cases read from JUnit, coverage per file.

Readers (`testgate.read`) produce them, checks (`testgate.checks`) judge them, renderers
(`testgate.render`) show them. All are frozen: a value read once is the same value everywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class Outcome(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"

    @property
    def is_failure(self) -> bool:
        """Failures and errors both count as failed, everywhere in testgate."""
        return self in (Outcome.FAILED, Outcome.ERROR)

    @property
    def is_skip(self) -> bool:
        return self in (Outcome.SKIPPED, Outcome.XFAILED)


@dataclass(frozen=True)
class Attempt:
    """An earlier attempt of a case, as Surefire records it (flakyFailure, rerunError, ...)."""

    kind: str
    message: str | None = None
    type: str | None = None
    duration: float | None = None

    @property
    def is_rerun(self) -> bool:
        return self.kind.startswith("rerun")


@dataclass(frozen=True)
class Case:
    """One `<testcase>`, normalized to a pytest-style node id where it can be known."""

    node_id: str
    name: str
    outcome: Outcome
    duration: float = 0.0
    classname: str | None = None
    file: str | None = None
    message: str | None = None
    repetition: int | None = None  # pytest-repeat's index, stripped from node_id
    attempts: tuple[Attempt, ...] = ()
    suite: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome.is_failure

    @property
    def flaky_in_run(self) -> bool:
        """Passed in the end after failed attempts (Surefire's flakyFailure/flakyError)."""
        return not self.failed and any(not a.is_rerun for a in self.attempts)


@dataclass(frozen=True)
class Totals:
    """Counts as the interface defines them: skipped and xfailed apart, xpassed as passed.

    tests == passed + failed + errors + skipped + xfailed."""

    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0  # xfailed not included
    xfailed: int = 0
    xpassed: int = 0  # included in passed
    seconds: float = 0.0

    @classmethod
    def of(cls, cases: Iterable[Case]) -> Totals:
        counts = dict.fromkeys(Outcome, 0)
        seconds = 0.0
        for case in cases:
            counts[case.outcome] += 1
            seconds += case.duration
        return cls(
            tests=sum(counts.values()),
            passed=counts[Outcome.PASSED] + counts[Outcome.XPASSED],
            failed=counts[Outcome.FAILED],
            errors=counts[Outcome.ERROR],
            skipped=counts[Outcome.SKIPPED],
            xfailed=counts[Outcome.XFAILED],
            xpassed=counts[Outcome.XPASSED],
            seconds=seconds,
        )

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            tests=self.tests + other.tests,
            passed=self.passed + other.passed,
            failed=self.failed + other.failed,
            errors=self.errors + other.errors,
            skipped=self.skipped + other.skipped,
            xfailed=self.xfailed + other.xfailed,
            xpassed=self.xpassed + other.xpassed,
            seconds=self.seconds + other.seconds,
        )

    def as_dict(self) -> dict[str, int]:
        """The six counts of the interface's `totals` objects."""
        return {
            "tests": self.tests,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "xfailed": self.xfailed,
        }


@dataclass(frozen=True)
class JUnitReport:
    """One JUnit/xUnit file, read and normalized."""

    path: str
    cases: tuple[Case, ...]
    time: float | None = None  # the producer's own wall time for the run, when it records one
    timestamp: str | None = None
    producer: str | None = None
    salvaged: bool = False  # cut off (a killed run): `cases` are the complete ones before the cut

    @property
    def totals(self) -> Totals:
        return Totals.of(self.cases)

    @property
    def seconds(self) -> float:
        """Session time: the producer's wall time, or the sum of case durations."""
        return self.time if self.time is not None else self.totals.seconds


@dataclass(frozen=True)
class FileCoverage:
    """Coverage of one source file, path relative to the project root in POSIX form."""

    path: str
    statements: int
    missing_lines: tuple[int, ...] = ()
    excluded: int = 0
    branches: int = 0
    missing_branches: tuple[tuple[int, int], ...] = ()  # arcs (from, to) never taken
    partial_branches: int = 0  # lines with some but not all of their branches taken
    executable_lines: frozenset[int] = field(default_factory=frozenset)

    @property
    def missing(self) -> int:
        return len(self.missing_lines)

    @property
    def covered(self) -> int:
        return self.statements - self.missing

    @property
    def covered_branches(self) -> int:
        return self.branches - len(self.missing_branches)

    @property
    def percent(self) -> float:
        return percent(self.covered + self.covered_branches, self.statements + self.branches)

    @property
    def branch_percent(self) -> float:
        return percent(self.covered_branches, self.branches)


@dataclass(frozen=True)
class CoverageTotals:
    statements: int = 0
    missing: int = 0
    branches: int = 0
    missing_branches: int = 0
    partial_branches: int = 0

    @classmethod
    def of(cls, files: Iterable[FileCoverage]) -> CoverageTotals:
        s = m = b = mb = pb = 0
        for f in files:
            s += f.statements
            m += f.missing
            b += f.branches
            mb += len(f.missing_branches)
            pb += f.partial_branches
        return cls(s, m, b, mb, pb)

    @property
    def covered(self) -> int:
        return self.statements - self.missing

    @property
    def covered_branches(self) -> int:
        return self.branches - self.missing_branches

    @property
    def percent(self) -> float:
        """Unrounded, as coverage.py's `Numbers.pc_covered`: lines and branches together."""
        return percent(self.covered + self.covered_branches, self.statements + self.branches)

    @property
    def branch_percent(self) -> float:
        return percent(self.covered_branches, self.branches)


@dataclass(frozen=True)
class CoverageData:
    """Combined coverage of a project, with coverage.py's display precision."""

    files: Mapping[str, FileCoverage]
    precision: int = 0
    has_branches: bool = False
    source: str | None = None  # the file(s) it was read from, for messages

    @property
    def totals(self) -> CoverageTotals:
        return CoverageTotals.of(self.files.values())


def percent(numerator: int, denominator: int) -> float:
    return 100.0 * numerator / denominator if denominator else 100.0


def display_percent(pc: float, precision: int) -> str:
    """Round as coverage.py displays: never 0 for some coverage, never 100 for less than all."""
    near0 = 1.0 / 10**precision
    near100 = 100.0 - near0
    if 0 < pc < near0:
        pc = near0
    elif near100 < pc < 100:
        pc = near100
    else:
        pc = round(pc, precision)
    return f"{pc:.{precision}f}"
