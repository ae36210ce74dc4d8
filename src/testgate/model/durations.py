"""Durations as every layer reads them off test cases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from testgate.model import Case, JUnitReport


def file_of(case: Case) -> str:
    return case.file or case.node_id.split("::", 1)[0]


def per_test(reports: Sequence[JUnitReport]) -> dict[str, float]:
    """Mean duration per node id: repetitions (pytest-repeat, reruns) averaged."""
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for report in reports:
        for case in report.cases:
            sums[case.node_id] += case.duration
            counts[case.node_id] += 1
    return {k: sums[k] / counts[k] for k in sums}


@dataclass(frozen=True)
class Samples:
    """Earlier figures from the run history: the same sessions on the same kind of machine.

    `sessions` and `tests` map to the earlier runs' seconds, oldest first; the checks add this
    run's figure and judge the median of the last `window`. `origin` says where they came
    from (or why there are none), for the check details."""

    window: int
    origin: str
    sessions: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    tests: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
