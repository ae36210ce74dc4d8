"""`--until RATE CONFIDENCE`: a hunt as long as it needs to be, and no longer.

A test is settled once it has flaked (passed and failed), or once its runs rule out a rate
above RATE at CONFIDENCE for the outcome it has not shown yet: a test that never failed, that
it fails with probability below RATE; one that never passed, that it passes below RATE (both the
exact bound of `clean_upper_bound`, so `--until 0.01 0.95` stops after 299 clean runs, as
`--plan 0.01 0.95` says). Tests that only skipped have nothing to show. The hunt stops at the
first prefix 1..k of iterations in which every test seen is settled, so the length a seed gives
does not depend on how many iterations ran at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from testgate.flaky.aggregate import Iteration, TestSummary
from testgate.flaky.stats import clean_upper_bound, plan


@dataclass(frozen=True)
class Until:
    rate: float
    confidence: float

    @property
    def needed(self) -> int:
        """Runs of one outcome that settle a test that shows only that outcome."""
        return plan(self.rate, self.confidence)

    def settled(self, passed: int, failed: int) -> bool:
        if passed and failed:
            return True
        shown = passed or failed
        if not shown:
            return True  # skipped in every run so far
        return clean_upper_bound(shown, self.confidence) < self.rate


def settled_prefix(iterations: Iterable[Iteration], until: Until) -> int | None:
    """The smallest k such that every test is settled by iterations 1..k (None: not yet)."""
    by_number = {it.iteration: it for it in iterations}
    counts: dict[str, list[int]] = {}
    k = 0
    while k + 1 in by_number:
        k += 1
        for record in by_number[k].records:
            c = counts.setdefault(record.id, [0, 0])
            if record.outcome.is_failure:
                c[1] += 1
            elif not record.outcome.is_skip:
                c[0] += 1
        if counts and all(until.settled(p, f) for p, f in counts.values()):
            return k
    return None


def unsettled(tests: Sequence[TestSummary], until: Until) -> list[str]:
    return [t.id for t in tests if not until.settled(t.passed, t.failed)]
