"""What the run history holds and answers, as values: runs, trends, flaky labels, baselines.

`testgate.history` reads and writes them; the checks, the renderers and the gate use them
without touching the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from testgate._glob import glob_regex
from testgate.model import percent


@dataclass(frozen=True)
class RunRow:
    """One run as stored (and exported)."""

    id: int
    time: str
    commit: str | None
    branch: str | None
    ci_job: str | None
    kind: str
    passed: bool
    tests: int
    failed: int
    skipped: int
    flaky: int
    coverage: float | None
    branch_coverage: float | None
    seconds: float
    source: str | None

    @property
    def infrastructure_failure(self) -> bool:
        """More than 80% of the tests failed: the machine broke, not the code."""
        return self.tests > 0 and self.failed > 0.8 * self.tests


@dataclass(frozen=True)
class TrendPoint:
    run: RunRow
    percent: float
    statements: int = 0


@dataclass(frozen=True)
class Drop:
    first: TrendPoint
    latest: TrendPoint

    @property
    def points(self) -> float:
        return self.first.percent - self.latest.percent


def coverage_drop(points: Sequence[TrendPoint]) -> Drop | None:
    """The change from the oldest to the newest point of the window (None for < 2 points)."""
    if len(points) < 2:
        return None
    return Drop(points[0], points[-1])


@dataclass(frozen=True)
class Regression:
    node_id: str
    baseline: float  # median seconds over the earlier runs
    current: float  # median seconds over the recent runs
    runs: int  # earlier runs the baseline is the median of

    @property
    def factor(self) -> float:
        return self.current / self.baseline if self.baseline else float("inf")


@dataclass(frozen=True)
class FlakyStat:
    node_id: str
    flaked: int  # runs of the window in which it flaked
    runs: int  # runs of the window in which it ran
    last_flaked_run: int
    clean_since: int  # runs since its last flake where it ran and did not fail
    active: bool  # still labelled flaky: fewer than `clear_after` clean runs since
    kind: str | None = None  # from a flake hunt, when one classified it
    repro: str | None = None
    commits: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        return self.flaked / self.runs if self.runs else 0.0


@dataclass(frozen=True)
class FlakyHistory:
    """What the history says about flakiness over a window of runs."""

    window: tuple[RunRow, ...]
    tests: tuple[FlakyStat, ...]  # ranked: most flakes first
    per_run: Mapping[int, int] = field(default_factory=dict)  # run id -> tests that flaked

    @property
    def active(self) -> tuple[FlakyStat, ...]:
        return tuple(t for t in self.tests if t.active)


@dataclass(frozen=True)
class FileTotals:
    """Per-file counts as stored (the history keeps counts, not line numbers)."""

    path: str
    statements: int
    missing: int
    branches: int
    missing_branches: int

    @property
    def percent(self) -> float:
        return percent(
            self.statements - self.missing + self.branches - self.missing_branches,
            self.statements + self.branches,
        )


@dataclass(frozen=True)
class HistoryBaseline:
    """What `--baseline history:BRANCH` compares against: the newest run on that branch."""

    run: RunRow
    files: Mapping[str, FileTotals]
    durations: Mapping[str, float]  # node id -> median seconds over the newest runs

    @property
    def coverage(self) -> float | None:
        """Total percent as recorded (lines and branches together, as coverage.py)."""
        return self.run.coverage

    def module_percent(self, glob: str) -> float | None:
        """Aggregate coverage of the files matching `glob`; None when none matched."""
        pattern = glob_regex(glob)
        chosen = [f for p, f in self.files.items() if pattern.match(p)]
        if not chosen:
            return None
        s = sum(f.statements for f in chosen)
        m = sum(f.missing for f in chosen)
        b = sum(f.branches for f in chosen)
        mb = sum(f.missing_branches for f in chosen)
        return percent(s - m + b - mb, s + b)


@dataclass(frozen=True)
class HistoryView:
    """What the HTML report shows from the history: recent gate runs and the flaky labels."""

    runs: tuple[RunRow, ...] = ()
    flaky: FlakyHistory = field(default_factory=lambda: FlakyHistory((), ()))
