"""flaky.json (format 2), flaky.md and flaky-junit.xml (Surefire's shape), written atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from testgate import __version__, _atomic
from testgate import _escape as escape
from testgate.config import FlakyBudget
from testgate.flaky.aggregate import Iteration, TestSummary
from testgate.flaky.classify import Finding
from testgate.flaky.runner import Record
from testgate.flaky.stats import plan
from testgate.model.flaky import (
    ALPHA,
    COMPLETED,
    FAILED,
    FLAKY,
    FORMAT,
    NON_DETERMINISTIC,
    PASSED,
    SKIPPED,
    EvidenceRow,
    FlakyMeta,
    FlakyReport,
    FlakyRun,
    FlakySummary,
    FlakyTest,
    Quarantined,
    TwiceRun,
    bound_line,
)

if TYPE_CHECKING:
    from testgate.flaky.explain import Explanation

CONFIDENCE = 0.95


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _chance(x: float | None) -> float | None:
    """Four significant digits: a bound of 0.00024 must not print as 0.0002 or 0."""
    return None if x is None else float(f"{x:.4g}")


def entry(
    test: TestSummary,
    finding: Finding | None,
    budget: FlakyBudget | None = None,
    explanation: Explanation | None = None,
) -> FlakyTest:
    """One test's entry, with what the explanation stage found about it."""
    row = _entry(test, finding, budget)
    e = explanation
    if e is None:
        return row
    if e.kind == NON_DETERMINISTIC:  # a fresh run contradicted the classifier's culprit
        row = replace(row, polluter=None, state_setter=None, passes_with=None, verified=False)
    chances = [p for p in (row.p_chance if e.kind is None else None, e.p_chance) if p is not None]
    if e.repro is not None and e.repro_deterministic:  # its own repro, run and failed each time
        row = replace(
            row, repro_runs=e.repro_failed, repro_failed=e.repro_failed, repro_chance=None
        )
    return replace(
        row,
        # found by the twice pass: flaky in a way the iterations cannot show
        verdict=FLAKY if e.kind is not None else row.verdict,
        kind=e.kind or row.kind,
        repro=e.repro or row.repro,
        cause=e.cause,
        leaked=e.leaked,
        changed_not_shown=e.changed,
        p_chance=_chance(max(chances)) if chances else None,
        repro_deterministic=(
            e.repro_deterministic if e.repro_deterministic is not None else row.repro_deterministic
        ),
        evidence=tuple(EvidenceRow(r.condition, r.runs, r.failed) for r in e.evidence),
        fix=e.fix,
    )


def _entry(
    test: TestSummary, finding: Finding | None, budget: FlakyBudget | None = None
) -> FlakyTest:
    """One test's entry; its repro, if any, is the finding's: one that was run."""
    interval = test.interval
    quarantine = next((q for q in (budget.quarantine if budget else ()) if q.id == test.id), None)
    return FlakyTest(
        id=test.id,
        runs=test.runs,
        passed=test.passed,
        failed=test.failed,
        skipped=test.skipped,
        verdict=test.verdict,
        kind=finding.kind if finding else None,
        flake_rate=_round(test.flake_rate),
        interval=None if interval is None else (round(interval[0], 4), round(interval[1], 4)),
        upper_bound=_round(test.upper_bound),
        polluter=finding.polluter if finding else None,
        state_setter=finding.state_setter if finding else None,
        repro=finding.repro if finding else None,
        passes_with=finding.passes_with if finding else None,
        verified=finding.verified if finding else None,
        classify_runs=finding.pytest_runs if finding else None,
        message=test.failures[0].message if test.failures else None,
        quarantine=None
        if quarantine is None
        else Quarantined(quarantine.until.isoformat(), quarantine.reason),
        p_chance=_chance(finding.p_chance) if finding else None,
        repro_deterministic=finding.repro_deterministic if finding else None,
        repro_runs=finding.repro_runs if finding else 0,
        repro_failed=finding.repro_failed if finding else 0,
        repro_chance=finding.repro_chance if finding else None,
        note=finding.note if finding else None,
    )


def _run(it: Iteration) -> FlakyRun:
    s = it.summary
    return FlakyRun(
        iteration=s["iteration"],
        seed=s["seed"],
        status=s["status"],
        exit_code=s["exit_code"],
        junit=s["junit"],
        seconds=s["seconds"],
        tests=s["tests"],
    )


def build_report(
    iterations: Sequence[Iteration],
    tests: Sequence[TestSummary],
    findings: Mapping[str, Finding],
    *,
    count: int,
    seed: int,
    complete: bool,
    budget: FlakyBudget | None = None,
    pytest_args: Sequence[str] = (),
    options: Sequence[str] = (),
    alpha: float = ALPHA,
    max_classify_runs: int | None = None,
    explanations: Mapping[str, Explanation] | None = None,
    twice: TwiceRun | None = None,
) -> FlakyReport:
    """flaky.json (format 2). The repro commands come from `findings`: each one was run
    (`options`, the hunt's pytest options they keep, is accepted for callers that pass it)."""
    del options
    explained = explanations or {}
    rows = tuple(entry(t, findings.get(t.id), budget, explained.get(t.id)) for t in tests)
    verdicts = [t.verdict for t in rows]
    return FlakyReport(
        meta=FlakyMeta(
            format=FORMAT,
            tool="testgate",
            version=__version__,
            count=count,
            seed=seed,
            complete=complete,
            pytest_args=tuple(pytest_args),
            confidence=CONFIDENCE,
            alpha=alpha,
            max_classify_runs=max_classify_runs,
        ),
        summary=FlakySummary(
            tests=len(tests),
            passed=verdicts.count(PASSED),
            failed=verdicts.count(FAILED),
            flaky=verdicts.count(FLAKY),
            # skipped and xfailed apart, as everywhere: xfailed in every run is not skipped
            skipped=sum(t.verdict == SKIPPED and t.xfailed < t.skipped for t in tests),
            xfailed=sum(t.verdict == SKIPPED and t.xfailed == t.skipped for t in tests),
            runs=len(iterations),
            completed=sum(it.status == COMPLETED for it in iterations),
        ),
        runs=tuple(_run(it) for it in sorted(iterations, key=lambda i: i.iteration)),
        tests=rows,
        twice=twice,
    )


def _cell(value: object) -> str:
    return escape.markdown("" if value is None else str(value))


def _code(value: str | None) -> str:
    return escape.markdown_code(value) if value else ""


def _pc(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def _ran(test: FlakyTest) -> str:
    """How the repro did when it was run, and what it promises."""
    if not test.repro or not test.repro_runs:
        return ""
    text = f"failed {test.repro_failed} of {test.repro_runs} runs"
    if test.repro_deterministic:
        text += ", deterministic"
    elif test.repro_chance is not None:
        text += f"; fails at least once with probability >= {_pc(test.repro_chance)}"
    return f"<br>{text}"


def markdown(report: FlakyReport) -> str:
    """The table people read: the tests that failed at least once, then the clean ones in brief."""
    meta, tests, runs = report.meta, report.tests, report.runs
    summary = report.summary or FlakySummary()
    lines = [
        "# Flake hunt",
        "",
        *([bound_line(meta.alpha), ""] if meta.alpha is not None else []),
        f"{len(runs)} of {meta.count} runs (seed {meta.seed}), {len(tests)} tests: "
        + ", ".join(
            f"{n} {v}"
            for v, n in (
                (FLAKY, summary.flaky),
                (FAILED, summary.failed),
                (PASSED, summary.passed),
                (SKIPPED, summary.skipped),
                ("xfailed", summary.xfailed),
            )
        )
        + ("" if meta.complete is not False else " — **interrupted: partial report**"),
        "",
    ]
    if meta.slices:
        lines += [f"Combined from {meta.slices} slices of one seeded plan.", ""]
    if meta.until is not None:
        lines += [until_line(meta), ""]
    shown = [t for t in tests if t.verdict in (FLAKY, FAILED)]
    shown.sort(key=lambda t: (t.verdict != FLAKY, t.id))
    if shown:
        lines += [
            "| test | verdict | kind | rate | 95% interval | polluter / state-setter | repro |",
            "|---|---|---|---|---|---|---|",
        ]
        for t in shown:
            interval = t.interval
            span = f"{_pc(interval[0])} to {_pc(interval[1])}" if interval else ""
            culprit = t.culprit
            role = "polluter " if t.polluter else "state-setter " if culprit else ""
            verdict = t.verdict + (" (quarantined)" if t.quarantine else "")
            rate = f"{_pc(t.flake_rate)} ({t.failed}/{t.executed})"
            kind = t.kind or ""
            if t.p_chance is not None:
                kind += f" (chance <= {t.p_chance:.2g})"
            lines.append(
                f"| {_code(t.id)} | {verdict} | {kind} | {rate} | {span} "
                f"| {role}{_code(culprit)} | {_code(t.repro)}{_ran(t)} |"
            )
        lines.append("")
        notes = [t for t in shown if t.note]
        for t in notes:
            lines.append(f"- {_code(t.id)}: {_cell(t.note)}")
        if notes:
            lines.append("")
        lines += _why(shown)
    clean = [t for t in tests if t.verdict == PASSED]
    if clean:
        least = min(t.passed for t in clean)
        bound = min((t.upper_bound for t in clean if t.upper_bound is not None), default=None)
        lines.append(
            f"{len(clean)} tests never failed in at least {least} runs: at 95% confidence their "
            f"flake rate is below {_pc(bound)}. Showing a rate below 1% takes "
            f"{plan(0.01, CONFIDENCE)} clean runs (`testgate flaky --plan 0.01 0.95`)."
        )
        lines.append("")
    lines += ["| run | seed | status | exit code | tests | seconds |", "|---|---|---|---|---|---|"]
    for r in runs:
        tests_cell = "" if r.tests is None else r.tests
        lines.append(
            f"| {r.iteration} | {r.seed} | {r.status} | {r.exit_code} "
            f"| {tests_cell} | {r.seconds or 0.0:.1f} |"
        )
    return "\n".join(lines) + "\n"


def until_line(meta: FlakyMeta) -> str:
    """How a `--until RATE CONFIDENCE` hunt ended."""
    u = meta.until
    if u is None:
        return ""
    goal = (
        f"every test flaked or shows a flake rate below {_pc(u.rate)} "
        f"at {_pc(u.confidence)} confidence"
    )
    if u.stopped == "early":
        return f"stopped early after {meta.count} of at most {u.max_count} runs: {goal}"
    if u.settled:
        return f"reached --count {u.max_count}: {goal}"
    left = u.unsettled
    shown = ", ".join(left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
    return (
        f"reached --count {u.max_count} before {goal}: {len(left)} not settled ({shown}); "
        f"a rate below {_pc(u.rate)} takes {plan(u.rate, u.confidence)} clean runs"
    )


def _why(shown: Sequence[FlakyTest]) -> list[str]:
    """Per explained test: its cause or leaked state, repro, fix, and the evidence table."""
    explained = [t for t in shown if t.evidence]
    if not explained:
        return []
    lines = ["## Why"]
    for t in explained:
        what = t.cause or ", ".join(t.leaked) or "not shown"
        p = "" if t.p_chance is None else f" (p_chance {t.p_chance:.2g})"
        label = "cause" if t.cause else "leaked"
        lines += ["", f"### {_code(t.id)}: {t.kind or ''}, {label} {_cell(what)}{p}", ""]
        if t.changed_not_shown:
            changed = ", ".join(_code(c) for c in t.changed_not_shown)
            lines.append(f"Changed by the culprit, dependence not shown: {changed}  ")
        if t.repro:
            sure = "fails every time" if t.repro_deterministic else "may need several runs"
            lines.append(f"Repro ({sure}): {_code(t.repro)}  ")
        if t.fix is not None:
            state = "verified in a scratch copy" if t.fix.get("verified") else "not verified"
            lines.append(f"Suggested fix (not applied, {state}): {_code(t.fix.get('patch'))}  ")
        lines += ["", "| condition | runs | failed |", "|---|---|---|"]
        lines += [f"| {_cell(e.condition)} | {e.runs} | {e.failed} |" for e in t.evidence]
    lines.append("")
    return lines


def _split(test_id: str) -> tuple[str, str, str | None]:
    """A node id as pytest's JUnit writer names it: (classname, name, file)."""
    parts = test_id.split("::")
    if len(parts) == 1:
        return "", test_id, None
    file = parts[0]
    module = file.removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[1:-1]]), parts[-1], file


def _case(suite: etree._Element, test_id: str, seconds: float) -> etree._Element:
    classname, name, file = _split(test_id)
    case = etree.SubElement(suite, "testcase", classname=classname, name=name)
    if file:
        case.set("file", file)
    case.set("time", f"{seconds:.3f}")
    return case


def _attempt(case: etree._Element, tag: str, message: str) -> None:
    el = etree.SubElement(case, tag, message=message.splitlines()[0] if message else "")
    el.set("type", "AssertionError" if tag != "error" else "Error")
    if tag in ("failure", "error"):
        el.text = message
    else:
        trace = etree.SubElement(el, "stackTrace")
        trace.text = message


def _xml(suite_name: str) -> tuple[etree._Element, etree._Element]:
    top = etree.Element("testsuites")
    suite = etree.SubElement(top, "testsuite", name=suite_name)
    return top, suite


def _serialize(top: etree._Element) -> bytes:
    return bytes(etree.tostring(top, xml_declaration=True, encoding="utf-8", pretty_print=True))


def _totals(suite: etree._Element, tests: int, failures: int, errors: int, skipped: int) -> None:
    for key, value in (
        ("tests", tests),
        ("failures", failures),
        ("errors", errors),
        ("skipped", skipped),
    ):
        suite.set(key, str(value))


def flaky_junit(tests: Sequence[TestSummary]) -> bytes:
    """One testcase per test: flakyFailure per failed attempt of a test that also passed,
    failure plus rerunFailure per repeat for a test that always failed (Surefire's shape)."""
    top, suite = _xml("testgate.flaky")
    failures = skipped = 0
    for t in tests:
        case = _case(suite, t.id, t.seconds / max(1, t.runs))
        if t.verdict == FLAKY:
            for f in t.failures:
                _attempt(case, "flakyFailure", f"run {f.iteration} (seed {f.seed}): {f.message}")
        elif t.verdict == FAILED:
            failures += 1
            first, *rest = t.failures
            _attempt(case, "failure", f"run {first.iteration} (seed {first.seed}): {first.message}")
            for f in rest:
                _attempt(case, "rerunFailure", f"run {f.iteration} (seed {f.seed}): {f.message}")
        elif t.verdict == SKIPPED:
            skipped += 1
            etree.SubElement(case, "skipped", message="skipped in every run")
    _totals(suite, len(tests), failures, 0, skipped)
    suite.set("time", f"{sum(t.seconds for t in tests):.3f}")
    return _serialize(top)


def write_run_junit(path: Path, records: Sequence[Record], *, seconds: float) -> None:
    """The JUnit file of an iteration pytest could not finish: the cases it completed."""
    top, suite = _xml("pytest")
    counts = {"failed": 0, "error": 0, "skipped": 0}
    for r in records:
        case = _case(suite, r.id, r.duration)
        if r.outcome.value in ("failed", "error"):
            counts[r.outcome.value] += 1
            _attempt(case, "failure" if r.outcome.value == "failed" else "error", r.message)
        elif r.outcome.is_skip:
            counts["skipped"] += 1
            etree.SubElement(case, "skipped", message=r.message, type=r.outcome.value)
    _totals(suite, len(records), counts["failed"], counts["error"], counts["skipped"])
    suite.set("time", f"{seconds:.3f}")
    _atomic.write_bytes(path, _serialize(top))


def write_reports(
    reports_dir: Path, report: FlakyReport, tests: Sequence[TestSummary]
) -> list[Path]:
    return [
        _atomic.write_json(reports_dir / "flaky.json", report.to_json()),
        _atomic.write_text(reports_dir / "flaky.md", markdown(report)),
        _atomic.write_bytes(reports_dir / "flaky-junit.xml", flaky_junit(tests)),
    ]
