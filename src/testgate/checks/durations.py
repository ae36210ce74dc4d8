"""Duration budgets from JUnit case times (setup + call + teardown, as pytest records them).

Sessions are JUnit file stems (`reports/junit/unit.xml` -> `unit`); shards `unit-1` ... `unit-K`
add up into `unit`. The projected wall time on K workers is the LPT schedule of the durations.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from testgate.checks import Annotation, CheckResult, Status
from testgate.checks._common import glob_match, num, plural, secs, specificity, status
from testgate.config import DurationsBudget
from testgate.model import Case, JUnitReport
from testgate.model.durations import file_of, per_test

MAX_LISTED = 50
_SHARD = re.compile(r"^(.+)-\d+$")


def session_of(path: str) -> str:
    """`reports/junit/unit-3.xml` -> `unit`."""
    stem = Path(path).stem
    m = _SHARD.match(stem)
    return m.group(1) if m else stem


@dataclass(frozen=True)
class Slow:
    id: str
    seconds: float
    share: float  # of the total test time


@dataclass(frozen=True)
class Summary:
    """What durations.json/.md show besides the checks."""

    tests: int
    total: float
    sessions: Mapping[str, tuple[float, int, tuple[str, ...]]]  # seconds, tests, files
    slowest: tuple[Slow, ...]
    workers: int
    projected: float
    per_test: Mapping[str, float]  # node id -> seconds (mean over repetitions)


def sessions(reports: Sequence[JUnitReport]) -> dict[str, tuple[float, int, tuple[str, ...]]]:
    acc: dict[str, tuple[float, int, tuple[str, ...]]] = {}
    for report in reports:
        name = session_of(report.path)
        s, n, files = acc.get(name, (0.0, 0, ()))
        acc[name] = (s + report.seconds, n + len(report.cases), (*files, report.path))
    return acc


def lpt(durations: Sequence[float], workers: int) -> float:
    """Makespan of longest-processing-time-first greedy scheduling on `workers` workers."""
    if workers <= 1:
        return sum(durations)
    loads = [0.0] * min(workers, max(len(durations), 1))
    heapq.heapify(loads)
    for d in sorted(durations, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + d)
    return max(loads)


def summarize(reports: Sequence[JUnitReport], *, slowest: int, workers: int) -> Summary:
    tests = per_test(reports)
    cases = [c for r in reports for c in r.cases]
    total = sum(c.duration for c in cases)
    ranked = sorted(cases, key=lambda c: (-c.duration, c.node_id))[:slowest]
    return Summary(
        tests=len(cases),
        total=total,
        sessions=sessions(reports),
        slowest=tuple(
            Slow(c.node_id, c.duration, c.duration / total if total else 0.0) for c in ranked
        ),
        workers=workers,
        projected=lpt([c.duration for c in cases], workers),
        per_test=tests,
    )


def check_durations(
    reports: Sequence[JUnitReport],
    budget: DurationsBudget,
    baseline: Mapping[str, float] | None = None,
    *,
    line_of: Callable[[Case], int | None] | None = None,
    given: str | None = None,
) -> list[CheckResult]:
    results = check_test_limits(reports, budget, line_of=line_of)
    results.extend(check_sessions(reports, budget.max_session))
    if budget.max_regression is not None:
        results.append(
            check_regressions(
                per_test(reports),
                baseline,
                budget.max_regression,
                budget.regression_floor,
                given=given,
            )
        )
    return results


def limit_for(case: Case, budget: DurationsBudget) -> tuple[str, float] | None:
    """(check id, limit) of the most specific path glob matching the test's file, or max_test."""
    path = file_of(case)
    matching = [g for g in budget.paths if glob_match(g, path)]
    if matching:
        best = max(matching, key=specificity)
        return f"durations.paths:{best}", budget.paths[best]
    if budget.max_test is not None:
        return "durations.max_test", budget.max_test
    return None


def check_test_limits(
    reports: Sequence[JUnitReport],
    budget: DurationsBudget,
    *,
    line_of: Callable[[Case], int | None] | None = None,
) -> list[CheckResult]:
    """One check per limit (max_test, each path glob): the tests over it, slowest first."""
    groups: dict[str, list[Case]] = {}
    limits: dict[str, float] = {}
    if budget.max_test is not None:
        groups["durations.max_test"] = []
        limits["durations.max_test"] = budget.max_test
    for glob, limit in budget.paths.items():
        groups[f"durations.paths:{glob}"] = []
        limits[f"durations.paths:{glob}"] = limit
    if not groups:
        return []
    by_file: dict[str, tuple[str, float] | None] = {}
    for report in reports:
        for case in report.cases:
            path = file_of(case)
            if path not in by_file:
                by_file[path] = limit_for(case, budget)
            found = by_file[path]
            if found is not None:
                groups[found[0]].append(case)
    results = []
    for check_id, cases in groups.items():
        limit = limits[check_id]
        where = "per test" if check_id == "durations.max_test" else f"for {check_id[16:]}"
        over = sorted((c for c in cases if c.duration > limit), key=lambda c: -c.duration)
        slowest = max((c.duration for c in cases), default=0.0)
        if not over:
            results.append(
                CheckResult(
                    check_id,
                    Status.PASS,
                    f"slowest of {plural(len(cases), 'test')}: {secs(slowest)} "
                    f"(limit {num(limit)} s {where})",
                    actual=round(slowest, 3),
                    limit=limit,
                )
            )
            continue
        annotations = tuple(
            Annotation(
                file_of(c),
                line_of(c) if line_of else None,
                f"{c.node_id} took {secs(c.duration)}, over the {num(limit)} s limit {where}",
            )
            for c in over[:MAX_LISTED]
        )
        results.append(
            CheckResult(
                check_id,
                Status.FAIL,
                f"{plural(len(over), 'test')} over the {num(limit)} s limit {where} "
                f"(slowest: {over[0].node_id} {secs(over[0].duration)}); speed them up, "
                "or give their path a limit of its own under [tool.testgate.durations] paths",
                actual=round(over[0].duration, 3),
                limit=limit,
                details=tuple(f"{c.node_id}: {secs(c.duration)}" for c in over[:MAX_LISTED]),
                annotations=annotations,
            )
        )
    return results


def check_sessions(
    reports: Sequence[JUnitReport], max_session: Mapping[str, float]
) -> list[CheckResult]:
    found = sessions(reports)
    results = []
    for name, limit in max_session.items():
        check_id = f"durations.max_session:{name}"
        if name not in found:
            results.append(
                CheckResult(
                    check_id,
                    Status.FAIL,
                    f"no JUnit file for session {name!r} (reports/junit/{name}.xml); "
                    "run that session first, or drop its durations.max_session entry",
                    actual=None,
                    limit=limit,
                )
            )
            continue
        seconds, tests, files = found[name]
        shards = f" over {len(files)} shards" if len(files) > 1 else ""
        ok = seconds <= limit
        message = f"session {name} took {secs(seconds)}{shards} ({plural(tests, 'test')}), " + (
            f"within {num(limit)} s"
            if ok
            else f"over its {num(limit)} s budget; speed up its slowest tests "
            "(testgate durations) or move them to another session"
        )
        results.append(
            CheckResult(check_id, status(ok), message, actual=round(seconds, 3), limit=limit)
        )
    return results


def check_regressions(
    current: Mapping[str, float],
    baseline: Mapping[str, float] | None,
    factor: float,
    floor: float,
    *,
    given: str | None = None,
) -> CheckResult:
    """Tests now `factor` times slower than in the baseline; tests under `floor` s are noise.

    `given`: the baseline the user named, when it turned out to hold no durations."""
    if baseline is None and given is not None:
        return CheckResult(
            "durations.regression",
            Status.FAIL,
            f"baseline {given} has no test durations to compare with; give a reports/ "
            "folder with durations.json or junit/*.xml, or a durations.json",
            actual=None,
            limit=factor,
        )
    if baseline is None:
        return CheckResult(
            "durations.regression",
            Status.WARN,
            "no baseline durations to compare with; pass --baseline PATH (a previous "
            "reports/ folder or its durations.json)",
            actual=None,
            limit=factor,
        )
    slower = sorted(
        (
            (now / before, test, before, now)
            for test, now in current.items()
            if now > floor
            and (before := baseline.get(test)) is not None
            and before > 0
            and now > factor * before
        ),
        reverse=True,
    )
    compared = sum(1 for t in current if t in baseline)
    if not slower:
        worst = max(
            (
                now / baseline[t]
                for t, now in current.items()
                if now > floor and baseline.get(t, 0) > 0
            ),
            default=1.0,
        )
        return CheckResult(
            "durations.regression",
            Status.PASS,
            f"no test over {num(floor)} s got more than {num(factor)}x slower "
            f"({compared} compared with the baseline)",
            actual=round(worst, 2),
            limit=factor,
        )
    top = slower[0]
    return CheckResult(
        "durations.regression",
        Status.FAIL,
        f"{plural(len(slower), 'test')} got more than {num(factor)}x slower than the baseline "
        f"(worst: {top[1]} {secs(top[2])} -> {secs(top[3])}, {top[0]:.1f}x); find what "
        "slowed them down",
        actual=round(top[0], 2),
        limit=factor,
        details=tuple(
            f"{t}: {secs(b)} -> {secs(n)} ({r:.1f}x)" for r, t, b, n in slower[:MAX_LISTED]
        ),
    )
