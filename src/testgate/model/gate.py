"""What a gate run compares with and what it hands on: baselines, and the run with its inputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from testgate.model import Case, CoverageData, JUnitReport
from testgate.model.diff import Diff, Parsed
from testgate.model.durations import Samples
from testgate.model.flaky import FlakyReport
from testgate.model.results import GateResult
from testgate.model.shards import ShardFolder

# A coverage file written up to this long before the run's start still belongs to it
# (clock granularity, pytest-cov saving at session finish).
STALE_SLACK = 2.0


@dataclass(frozen=True)
class CoverageBaseline:
    """A previous run's coverage: the total, and per file (statements, missing lines) if known."""

    percent: float
    files: Mapping[str, tuple[int, int]] | None
    source: str


@dataclass(frozen=True)
class Baseline:
    """A previous run to compare with: its coverage and its test durations, when it has them.

    Read from a reports folder or one of its files, or from the history (`history:BRANCH`).
    """

    source: str
    coverage: CoverageBaseline | None = None
    durations: Mapping[str, float] | None = None


@dataclass(frozen=True)
class GateRun:
    """A gate result with the inputs it was computed from (for reports, history, badges)."""

    result: GateResult
    reports: tuple[JUnitReport, ...]
    coverage: CoverageData | None
    flaky: FlakyReport | None
    baseline: Baseline | None


@dataclass(frozen=True)
class CoverageInput:
    """What looking for coverage data found: the data, or why there is none, and its dates."""

    needed: bool  # a coverage budget is set: missing data fails rather than warns
    data: CoverageData | None = None
    error: str | None = None
    source: str | None = None  # the newest input file, as stale messages name it
    written: float | None = None  # its mtime
    run_started: float | None = None  # when the latest test run began
    read_from: str | None = None
    changed: tuple[str, ...] = ()  # measured sources modified after the data was written


@dataclass(frozen=True)
class FlakyInput:
    """reports/flaky.json or flaky-new.json: the report, or why it could not be read."""

    source: str
    report: FlakyReport | None = None
    unreadable: str | None = None  # not JSON, or JSON but not a hunt report: an input error


@dataclass(frozen=True)
class GateInputs:
    """Everything `testgate gate` read, once, before any check runs."""

    junit_dir: str
    junit_files: int
    junit_errors: tuple[str, ...]
    reports: tuple[JUnitReport, ...]
    shards: ShardFolder | None = None
    baseline: Baseline | None = None
    baseline_error: str | None = None
    coverage: CoverageInput | None = None
    diff: Diff | None = None
    diff_error: str | None = None
    parsed: Parsed = field(default_factory=dict)
    flaky: FlakyInput | None = None
    flaky_new: FlakyInput | None = None  # the burn-in of new tests
    commit: str | None = None  # the commit under test, which a burn-in must match
    line_of: Callable[[Case], int | None] | None = None  # test sources, read on demand
    under_coverage: tuple[str, ...] = ()  # sessions whose durations were measured under coverage
    samples: Samples | None = None  # earlier durations from the history, when budgets need them
    history_problem: str | None = None  # why the history could not be read

    @property
    def coverage_data(self) -> CoverageData | None:
        return self.coverage.data if self.coverage is not None else None
