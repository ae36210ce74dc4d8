"""From N iterations to one verdict per test id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from testgate.flaky.runner import Record
from testgate.flaky.stats import clean_upper_bound, wilson
from testgate.model import Outcome
from testgate.model.flaky import FAILED, FLAKY, PASSED, SKIPPED


@dataclass(frozen=True)
class Iteration:
    """One hunt iteration: a fresh pytest process with its own seed."""

    iteration: int
    seed: int
    status: str
    exit_code: int | None
    junit: str
    seconds: float
    records: tuple[Record, ...]
    order: tuple[str, ...]

    def _head(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "seed": self.seed,
            "status": self.status,
            "exit_code": self.exit_code,
            "junit": self.junit,
            "seconds": round(self.seconds, 3),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self._head(),
            "records": [[r.id, r.outcome.value, r.message, r.duration] for r in self.records],
            "order": list(self.order),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Iteration:
        return cls(
            iteration=int(data["iteration"]),
            seed=int(data["seed"]),
            status=str(data["status"]),
            exit_code=None if data["exit_code"] is None else int(data["exit_code"]),
            junit=str(data["junit"]),
            seconds=float(data["seconds"]),
            records=tuple(
                Record(str(i), Outcome(o), str(m), float(d)) for i, o, m, d in data["records"]
            ),
            order=tuple(str(x) for x in data["order"]),
        )

    @property
    def summary(self) -> dict[str, Any]:
        """The iteration as flaky.json's `runs[]` lists it."""
        return {
            **self._head(),
            "tests": len(self.records),
        }


@dataclass(frozen=True)
class Failure:
    iteration: int
    seed: int
    message: str


@dataclass(frozen=True)
class TestSummary:
    """Every run of one test id across the hunt."""

    __test__ = False
    id: str
    passed: int
    failed: int
    skipped: int
    failures: tuple[Failure, ...] = ()
    seconds: float = 0.0
    xfailed: int = 0  # of the skipped runs, those pytest reported as xfailed

    @property
    def runs(self) -> int:
        return self.passed + self.failed + self.skipped

    @property
    def verdict(self) -> str:
        if self.passed + self.failed == 0:
            return SKIPPED
        if self.failed == 0:
            return PASSED
        return FAILED if self.passed == 0 else FLAKY

    @property
    def flake_rate(self) -> float | None:
        executed = self.passed + self.failed
        return self.failed / executed if executed else None

    @property
    def interval(self) -> tuple[float, float] | None:
        executed = self.passed + self.failed
        return wilson(self.failed, executed) if executed else None

    @property
    def upper_bound(self) -> float | None:
        """For a test that never failed: the flake rate its clean runs rule out at 95%."""
        if self.failed or not self.passed:
            return None
        return clean_upper_bound(self.passed)


def aggregate(iterations: Iterable[Iteration]) -> list[TestSummary]:
    """Counts per id, sorted by id; failures and errors both count as failed."""
    counts: dict[str, list[int]] = {}
    failures: dict[str, list[Failure]] = {}
    seconds: dict[str, float] = {}
    for it in sorted(iterations, key=lambda i: i.iteration):
        for record in it.records:
            c = counts.setdefault(record.id, [0, 0, 0, 0])
            seconds[record.id] = seconds.get(record.id, 0.0) + record.duration
            if record.outcome.is_failure:
                c[1] += 1
                failures.setdefault(record.id, []).append(
                    Failure(it.iteration, it.seed, record.message)
                )
            elif record.outcome.is_skip:
                c[2] += 1
                c[3] += record.outcome is Outcome.XFAILED
            else:
                c[0] += 1
    return [
        TestSummary(
            test_id, p, f, s, tuple(failures.get(test_id, ())), round(seconds[test_id], 6), x
        )
        for test_id, (p, f, s, x) in sorted(counts.items())
    ]


def prefix(iteration: Iteration, test_id: str, *, failed: bool) -> list[str] | None:
    """The ids that ran before `test_id` in `iteration`, if its outcome there matched `failed`."""
    outcomes = [r.outcome.is_failure for r in iteration.records if r.id == test_id]
    if not outcomes or outcomes[0] is not failed or test_id not in iteration.order:
        return None
    before = iteration.order[: iteration.order.index(test_id)]
    return [t for t in dict.fromkeys(before) if t != test_id and "::" in t]


def orders(iterations: Sequence[Iteration], test_id: str, *, failed: bool) -> list[Iteration]:
    return [it for it in iterations if prefix(it, test_id, failed=failed) is not None]
