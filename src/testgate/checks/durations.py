"""Duration budgets from JUnit case times (setup + call + teardown, as pytest records them).

Sessions are JUnit file stems (`reports/junit/unit.xml` -> `unit`); shards `unit-1` ... `unit-K`
add up into `unit`. The projected wall time on K workers is the LPT schedule of the durations.
With `Samples` from the run history, limits and regressions judge the median of the last runs
on the same kind of machine instead of one noisy figure (docs/durations.md).
"""

from __future__ import annotations

import heapq
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from testgate.checks import Annotation, CheckResult, Status
from testgate.checks._common import glob_match, num, plural, secs, specificity, status
from testgate.config import DurationsBudget
from testgate.model import Case, JUnitReport
from testgate.model.durations import Samples, file_of, per_test

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


@dataclass(frozen=True)
class Figure:
    """What a duration budget judges: the median of `used` (oldest first, this run last)."""

    value: float
    used: tuple[float, ...]

    @property
    def now(self) -> float:
        return self.used[-1]

    @property
    def robust(self) -> bool:
        return len(self.used) > 1

    def samples(self) -> str:
        if not self.robust:
            return f"this run only: {secs(self.now)}"
        shown = ", ".join(f"{v:.2f}" for v in self.used)
        return f"median of the last {len(self.used)} runs: {shown} s (the last is this run)"


def figure(now: float, earlier: Sequence[float] = (), window: int = 1) -> Figure:
    """The median of this run's figure and up to `window - 1` earlier ones (the newest)."""
    keep = tuple(earlier[len(earlier) - (window - 1) :]) if window > 1 and earlier else ()
    used = (*keep, now)
    return Figure(statistics.median(used), used)


def session_stamps(reports: Sequence[JUnitReport]) -> dict[str, str]:
    """Per session, its JUnit files' timestamps: the same test run read twice has the same."""
    stamps: dict[str, list[str]] = defaultdict(list)
    missing: set[str] = set()
    for report in reports:
        name = session_of(report.path)
        if report.timestamp:
            stamps[name].append(report.timestamp)
        else:
            missing.add(name)
    return {name: " ".join(sorted(v)) for name, v in stamps.items() if name not in missing}


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
    samples: Samples | None = None,
) -> list[CheckResult]:
    results = check_test_limits(reports, budget, line_of=line_of, samples=samples)
    results.extend(check_sessions(reports, budget.max_session, samples=samples))
    if budget.max_regression is not None:
        figures = {
            test: _test_figure(now, test, samples) for test, now in per_test(reports).items()
        }
        results.append(
            check_regressions(
                {test: f.value for test, f in figures.items()},
                baseline,
                budget.max_regression,
                budget.regression_floor,
                given=given,
                figures=figures,
                origin=samples.origin if samples else None,
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


def _test_figure(now: float, test: str, samples: Samples | None) -> Figure:
    if samples is None:
        return figure(now)
    return figure(now, samples.tests.get(test, ()), samples.window)


def _judged(reports: Sequence[JUnitReport], samples: Samples | None) -> list[tuple[Case, Figure]]:
    """Each case with its own duration; a test the history has earlier figures for once, with
    the median of those and this run's mean over its repetitions."""
    earlier = samples.tests if samples is not None else {}
    means = per_test(reports) if earlier else {}
    out: list[tuple[Case, Figure]] = []
    done: set[str] = set()
    for report in reports:
        for case in report.cases:
            if case.node_id not in earlier:
                out.append((case, figure(case.duration)))
            elif case.node_id not in done:
                done.add(case.node_id)
                out.append((case, _test_figure(means[case.node_id], case.node_id, samples)))
    return out


def _shown(fig: Figure) -> str:
    return f"{secs(fig.value)} ({fig.samples()})" if fig.robust else secs(fig.value)


def _origin(samples: Samples | None) -> tuple[str, ...]:
    return (samples.origin,) if samples is not None else ()


def check_test_limits(
    reports: Sequence[JUnitReport],
    budget: DurationsBudget,
    *,
    line_of: Callable[[Case], int | None] | None = None,
    samples: Samples | None = None,
) -> list[CheckResult]:
    """One check per limit (max_test, each path glob): the tests over it, slowest first."""
    groups: dict[str, list[tuple[Case, Figure]]] = {}
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
    for case, fig in _judged(reports, samples):
        path = file_of(case)
        if path not in by_file:
            by_file[path] = limit_for(case, budget)
        found = by_file[path]
        if found is not None:
            groups[found[0]].append((case, fig))
    results = []
    for check_id, judged in groups.items():
        limit = limits[check_id]
        where = "per test" if check_id == "durations.max_test" else f"for {check_id[16:]}"
        over = sorted((j for j in judged if j[1].value > limit), key=lambda j: -j[1].value)
        if not over:
            top = max(judged, key=lambda j: j[1].value, default=None)
            slowest = top[1].value if top else 0.0
            shown = f" ({top[1].samples()})" if top and top[1].robust else ""
            results.append(
                CheckResult(
                    check_id,
                    Status.PASS,
                    f"slowest of {plural(len(judged), 'test')}: {secs(slowest)}{shown} "
                    f"(limit {num(limit)} s {where})",
                    actual=round(slowest, 3),
                    limit=limit,
                    details=(
                        (f"{top[0].node_id}: {_shown(top[1])}", *_origin(samples)) if top else ()
                    ),
                )
            )
            continue
        annotations = tuple(
            Annotation(
                file_of(c),
                line_of(c) if line_of else None,
                f"{c.node_id} took {secs(f.value)}"
                + (f" ({f.samples()})" if f.robust else "")
                + f", over the {num(limit)} s limit {where}",
            )
            for c, f in over[:MAX_LISTED]
        )
        worst, fig = over[0]
        results.append(
            CheckResult(
                check_id,
                Status.FAIL,
                f"{plural(len(over), 'test')} over the {num(limit)} s limit {where} "
                f"(slowest: {worst.node_id} {secs(fig.value)}"
                + (f", {fig.samples()}" if fig.robust else "")
                + "); speed them up, "
                "or give their path a limit of its own under [tool.testgate.durations] paths",
                actual=round(fig.value, 3),
                limit=limit,
                details=(
                    *(f"{c.node_id}: {_shown(f)}" for c, f in over[:MAX_LISTED]),
                    *_origin(samples),
                ),
                annotations=annotations,
            )
        )
    return results


def check_sessions(
    reports: Sequence[JUnitReport],
    max_session: Mapping[str, float],
    *,
    samples: Samples | None = None,
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
        fig = (
            figure(seconds, samples.sessions.get(name, ()), samples.window)
            if samples is not None
            else figure(seconds)
        )
        shards = f" over {len(files)} shards" if len(files) > 1 else ""
        took = (
            f"took a median {secs(fig.value)} over its last {len(fig.used)} runs on this kind "
            f"of machine (this run {secs(fig.now)}{shards})"
            if fig.robust
            else f"took {secs(seconds)}{shards}"
        )
        ok = fig.value <= limit
        message = f"session {name} {took} ({plural(tests, 'test')}), " + (
            f"within {num(limit)} s"
            if ok
            else f"over its {num(limit)} s budget; speed up its slowest tests "
            "(testgate durations) or move them to another session"
        )
        results.append(
            CheckResult(
                check_id,
                status(ok),
                message,
                actual=round(fig.value, 3),
                limit=limit,
                details=(f"samples: {fig.samples()}", *_origin(samples)),
            )
        )
    return results


def check_regressions(
    current: Mapping[str, float],
    baseline: Mapping[str, float] | None,
    factor: float,
    floor: float,
    *,
    given: str | None = None,
    figures: Mapping[str, Figure] | None = None,
    origin: str | None = None,
) -> CheckResult:
    """Tests now `factor` times slower than in the baseline; tests under `floor` s are noise.

    `given`: the baseline the user named, when it turned out to hold no durations;
    `figures`: the samples behind each `current` figure, for the details."""
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
        details=(
            *(
                f"{t}: {secs(b)} -> {secs(n)} ({r:.1f}x)"
                + (f"; {f.samples()}" if (f := (figures or {}).get(t)) and f.robust else "")
                for r, t, b, n in slower[:MAX_LISTED]
            ),
            *((origin,) if origin else ()),
        ),
    )
