"""Durations as every layer reads them off test cases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

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
