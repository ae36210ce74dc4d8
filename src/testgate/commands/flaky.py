"""`testgate flaky`: the flake hunt, and `--plan RATE CONFIDENCE`."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.util
import secrets
import shutil
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from testgate import _atomic, history
from testgate import config as config_mod
from testgate import shard as shard_mod
from testgate._cpu import usable_cores
from testgate._lock import hunt_lock
from testgate.checks import Status
from testgate.checks.flaky import check_flaky
from testgate.checks.flaky_new import check_flaky_new
from testgate.checks.informational import downgrade
from testgate.commands import _argtypes
from testgate.errors import ExitCode, Interrupted, Stopped, UsageError
from testgate.flaky import burnin
from testgate.flaky import hunt as hunt_mod
from testgate.flaky import slices as slices_mod
from testgate.flaky import twice as twice_mod
from testgate.flaky.aggregate import Iteration, TestSummary, aggregate
from testgate.flaky.classify import (
    MAX_CLASSIFY_RUNS,
    Classifier,
    Finding,
    carried_options,
    classify_all,
    seed_args,
)
from testgate.flaky.explain import Explanation, explain_all
from testgate.flaky.report import build_report, markdown, until_line, write_reports
from testgate.flaky.runner import positional_args
from testgate.flaky.stats import plan
from testgate.flaky.trials import Trials
from testgate.flaky.until import Until, unsettled
from testgate.history import record as history_record
from testgate.model.flaky import (
    ALPHA,
    BurnInMeta,
    FlakyReport,
    FlakySummary,
    TwiceRun,
    UntilMeta,
    bound_line,
)
from testgate.publish import warn_only

MIN_PLAN_RATE = 1e-6
_positive_int = _argtypes.whole(1)
_seed = _argtypes.whole(0)
_seconds = _argtypes.real(
    lambda v: v > 0, "must be more than 0 seconds", what="a number of seconds"
)
_probability = _argtypes.real(lambda v: 0 < v < 1, "must be strictly between 0 and 1")


def _slice(text: str) -> tuple[int, int]:
    try:
        return slices_mod.parse_slice(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "flaky",
        help="hunt flaky tests: N randomized pytest runs, classified, with repro commands",
        description=(
            "Run the project's tests N times, each in a fresh pytest process with its own "
            "random order (pytest-randomly) and recorded seed; report every test's flake rate, "
            "classify the flaky ones (non-deterministic, order-dependent, brittle) and print "
            "the command that reproduces each. Exit 1 when the flakiness budget is violated."
        ),
    )
    parser.add_argument(
        "--count", type=_positive_int, help="iterations ([tool.testgate.flaky] count, 10)"
    )
    parser.add_argument(
        "--seed", type=_seed, help="hunt seed: the same seed replays the same orders"
    )
    parser.add_argument(
        "--jobs", type=_positive_int, help="iterations run at once (default: cores)"
    )
    parser.add_argument(
        "--timeout", type=_seconds, help="seconds per test before the run is killed (300)"
    )
    parser.add_argument("--resume", action="store_true", help="continue an interrupted hunt")
    parser.add_argument("--reports", type=Path, help="reports folder (default reports/)")
    parser.add_argument("--config", type=Path, help="config file (default pyproject.toml)")
    parser.add_argument(
        "--alone",
        type=_positive_int,
        default=0,
        help="at least this many runs of a flaky test alone when classifying "
        "(default: as many as --alpha needs)",
    )
    parser.add_argument(
        "--alpha",
        type=_probability,
        default=ALPHA,
        help="the largest probability that chance explains a causal claim the hunt reports "
        f"(default {ALPHA})",
    )
    parser.add_argument(
        "--max-classify-runs",
        type=_positive_int,
        default=MAX_CLASSIFY_RUNS,
        help="pytest runs at most per flaky test while classifying; what they leave "
        f"undecided is reported non-deterministic ({MAX_CLASSIFY_RUNS})",
    )
    parser.add_argument(
        "--classify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="classify flaky tests and find polluters / state setters (default: yes)",
    )
    parser.add_argument(
        "--explain",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="name causes and leaked state, check deterministic repros, verify suggested fixes, "
        "and run every test twice in one process (default: yes)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a line per iteration on stderr (default: when stderr is a TTY)",
    )
    parser.add_argument(
        "--plan",
        nargs=2,
        type=_probability,
        metavar=("RATE", "CONFIDENCE"),
        help="print the clean runs that show a flake rate below RATE at CONFIDENCE",
    )
    parser.add_argument(
        "--slice",
        type=_slice,
        metavar="K/M",
        help="run only iterations K, K+M, K+2M, ... of the seeded plan (needs --seed)",
    )
    parser.add_argument(
        "--combine",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="merge the --reports folders of every slice of one hunt, then classify and report",
    )
    parser.add_argument(
        "--until",
        nargs=2,
        type=_probability,
        metavar=("RATE", "CONFIDENCE"),
        help="stop before --count once every test flaked or is below RATE at CONFIDENCE",
    )
    parser.add_argument(
        "--new",
        action="store_true",
        help="burn in only the tests new against --base, repeated by duration: flaky-new.json",
    )
    parser.add_argument(
        "--base",
        metavar="REF",
        help="with --new: the branch the change goes into (default: origin/HEAD, main, master)",
    )
    parser.add_argument(
        "pytest_args", nargs=argparse.REMAINDER, help="-- then arguments for pytest"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """One hunt per reports folder: the lock is held from the first iteration to the reports."""
    if args.plan is not None:
        return _run(args)
    reports_dir = args.reports
    if reports_dir is None:
        reports_dir = config_mod.load(config_mod.find_root()[0], args.config).reports_dir
    notes: list[str] = []
    with hunt_lock(Path(reports_dir), notes=notes):
        for note in notes:
            print(f"testgate flaky: {note}", file=sys.stderr)
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.plan is not None:
        if args.plan[0] < MIN_PLAN_RATE:  # 1 - rate rounds to 1: no finite plan exists
            raise UsageError(
                f"--plan {args.plan[0]:g}: a flake rate below {MIN_PLAN_RATE:g} needs more "
                "runs than a hunt can make; give a larger RATE"
            )
        print(plan(*args.plan))
        return int(ExitCode.OK)
    pytest_args = list(args.pytest_args)
    if pytest_args and pytest_args[0] == "--":
        pytest_args = pytest_args[1:]
    # pytest-repeat too: without it a repro could not repeat a flaky test (`--count`) and
    # would fail only by chance; the hunt refuses rather than print such repros.
    needed = [("pytest", "pytest"), ("pytest_randomly", "pytest-randomly")]
    needed.append(("pytest_repeat", "pytest-repeat"))
    for module, name in needed:
        if importlib.util.find_spec(module) is None:
            raise UsageError(
                f"{name} is not installed for {sys.executable}; install testgate[hunt] "
                "in the project's environment"
            )
    _refuse_mixed(args, pytest_args)
    config = config_mod.find_project(args.config)
    root = config.root
    reports_dir = args.reports if args.reports is not None else config.reports_dir
    budget = config.flaky
    work = reports_dir / "flaky"
    stop = threading.Event()
    if args.new:
        return _burn_in(args, config, root, reports_dir, pytest_args, stop)
    if args.combine:
        found = slices_mod.read_slices(args.combine, root)
        settings = slices_mod.settings_of(found, root, reports_dir, args.jobs or usable_cores())
        hunt = hunt_mod.Hunt(slices_mod.combine(found, settings))
        return _finish(args, config, settings, hunt, stop, combined=len(found))
    seed, count, timeout = args.seed, args.count, args.timeout
    slice_, until = args.slice, args.until
    if args.resume:
        state = hunt_mod.load_state(work)
        if seed is not None and seed != state["seed"]:
            raise UsageError(f"--resume continues the hunt with seed {state['seed']}; drop --seed")
        if pytest_args and pytest_args != state["pytest_args"]:
            raise UsageError("--resume continues the hunt with its own pytest arguments; drop them")
        saved_slice = tuple(state["slice"]) if state.get("slice") else None
        if slice_ is not None and slice_ != saved_slice:
            raise UsageError("--resume continues the hunt with its own --slice; drop --slice")
        seed, pytest_args = int(state["seed"]), list(state["pytest_args"])
        count = count or int(state["count"])
        timeout = timeout or float(state["timeout"])
        slice_ = saved_slice
        until = until or (tuple(state["until"]) if state.get("until") else None)
    if slice_ is not None and seed is None:
        raise UsageError(
            "--slice needs --seed: every slice must run the same seeded plan (in CI, the "
            "pipeline's id is a good seed)"
        )
    settings = hunt_mod.Settings(
        root=root,
        reports_dir=reports_dir,
        count=count or budget.count,
        seed=secrets.randbelow(2**32) if seed is None else seed,
        jobs=args.jobs or usable_cores(),
        timeout=timeout or budget.timeout,
        pytest_args=tuple(pytest_args),
        slice=slice_,
        until=None if until is None else (float(until[0]), float(until[1])),
    )
    if settings.slice is not None and not settings.planned:
        k, m = settings.slice
        raise UsageError(
            f"--slice {k}/{m} has no iterations of --count {settings.count}; use at most "
            f"{settings.count} slices"
        )
    show = sys.stderr.isatty() if args.progress is None else args.progress
    hunt = hunt_mod.run(
        settings, resume=args.resume, progress=sys.stderr if show else None, stop=stop
    )
    if settings.slice is not None:
        return _finish_slice(settings, settings.slice, hunt)
    return _finish(args, config, settings, hunt, stop)


def _refuse_mixed(args: argparse.Namespace, pytest_args: list[str]) -> None:
    """Modes that cannot go together, refused before anything runs."""
    if args.combine:
        given = [
            name
            for name, value in (
                ("--count", args.count),
                ("--seed", args.seed),
                ("--slice", args.slice),
                ("--until", args.until),
                ("--resume", args.resume or None),
                ("--timeout", args.timeout),
                ("pytest arguments", pytest_args or None),
            )
            if value is not None
        ]
        if given:
            raise UsageError(
                f"--combine takes the hunt's settings from the slices' manifests; drop "
                f"{', '.join(given)}"
            )
    if args.base is not None and not args.new:
        raise UsageError("--base names the base of a burn-in: add --new")
    if args.new:
        given = [
            name
            for name, value in (
                ("--count", args.count),
                ("--slice", args.slice),
                ("--combine", args.combine),
                ("--until", args.until),
                ("--resume", args.resume or None),
            )
            if value is not None
        ]
        if given:
            raise UsageError(
                f"--new decides each new test's runs by its duration; drop {', '.join(given)}"
            )
    if args.until is not None and args.slice is not None:
        raise UsageError(
            "--until cannot run on a slice: a slice cannot see the other slices' results; "
            "give the sliced hunt a fixed --count (testgate flaky --plan RATE CONFIDENCE)"
        )


def _burn_in(
    args: argparse.Namespace,
    config: config_mod.Config,
    root: Path,
    reports_dir: Path,
    pytest_args: list[str],
    stop: threading.Event,
) -> int:
    """`--new`: select the new tests, burn them in, classify the flaky ones, judge `flaky.new`."""
    collected = shard_mod.collect(root, pytest_args)
    selection = burnin.select(root, args.base, collected, config.history_path)
    paths = [a for a in pytest_args if not a.startswith("-") and (root / burnin.module(a)).exists()]
    options = carried_options(pytest_args, paths)
    settings = hunt_mod.Settings(
        root=root,
        reports_dir=reports_dir,
        count=burnin.REPETITIONS[0][1],
        seed=secrets.randbelow(2**32) if args.seed is None else args.seed,
        jobs=args.jobs or usable_cores(),
        timeout=args.timeout or config.flaky.timeout,
        pytest_args=tuple(pytest_args),
        folder=burnin.FOLDER,
    )
    burn = burnin.run(settings, selection.new, options, stop=stop) if selection.new else None
    iterations = sorted(burn.iterations if burn else [], key=lambda it: it.iteration)
    tests = aggregate(iterations)
    new = set(selection.new)
    findings: dict[str, Finding] = {}
    interrupted = burn is not None and burn.interrupted
    if not interrupted and args.classify and iterations:
        classifier = _classifier(args, settings, stop, options)
        try:
            findings = classify_all(classifier, [t for t in tests if t.id in new], iterations)
        except KeyboardInterrupt:
            stop.set()
            interrupted = True
    planned = max(burn.runs.values(), default=0) if burn else 0
    report = build_report(
        iterations,
        tests,
        findings,
        count=planned,
        seed=settings.seed,
        complete=not interrupted and len(iterations) == planned,
        budget=config.flaky,
        pytest_args=settings.pytest_args,
        options=options,
        alpha=args.alpha,
        max_classify_runs=args.max_classify_runs if args.classify else None,
    )
    burn_in = BurnInMeta(
        base=selection.base,
        new=selection.new,
        selection=selection.method,
        base_commit=selection.base_commit,
        commit=history_record.provenance(root).commit,
        planned_runs=burn.runs if burn else {},
    )
    report = dataclasses.replace(
        report,
        meta=dataclasses.replace(report.meta, burn_in=burn_in),
        tests=tuple(dataclasses.replace(t, new=t.id in new) for t in report.tests),
    )
    written = [
        _atomic.write_json(reports_dir / "flaky-new.json", report.to_json()),
        _atomic.write_text(reports_dir / "flaky-new.md", _burn_in_markdown(report, burn_in)),
    ]
    how = "absent from its history" if selection.method == "history" else "in changed test files"
    print(
        f"testgate flaky --new: {len(selection.new)} new tests against {selection.base} "
        f"({how}), {len(iterations)} runs"
    )
    _print_summary(report)
    print("reports: " + ", ".join(str(p) for p in written))
    if interrupted:
        raise Interrupted(
            f"burn-in interrupted after {len(iterations)} runs; partial report in {written[0]}; "
            "run testgate flaky --new again"
        )
    [check] = downgrade(
        [check_flaky_new(report, config.flaky, today=dt.date.today())], config.is_informational
    )
    print(f"{check.id}: {check.status.value}: {check.message}")
    for line in check.details:
        print(f"  {line}")
    return int(ExitCode.BUDGET_VIOLATED if check.status is Status.FAIL else ExitCode.OK)


def _burn_in_markdown(report: FlakyReport, burn: BurnInMeta) -> str:
    how = "absent from its history" if burn.selection == "history" else "in changed test files"
    new = burn.new
    planned = burn.planned_runs or {}
    head = [
        "# Burn-in of new tests",
        "",
        f"{len(new)} new tests against `{burn.base}` ({how}), each run with its module's "
        "other tests in random orders, as often as its duration allows (10, 5, 3, 2 runs "
        "under 5 s, 10 s, 30 s, 5 min):",
        "",
        *(f"- `{i}`: {planned.get(i, 0)} runs" for i in new),
        "",
    ]
    body = markdown(report).split("\n", 1)[1] if new else ""
    return "\n".join(head) + body


def _explain(
    args: argparse.Namespace,
    settings: hunt_mod.Settings,
    tests: list[TestSummary],
    findings: dict[str, Finding],
    options: tuple[str, ...],
    stop: threading.Event,
) -> tuple[TwiceRun, dict[str, Explanation]]:
    """The twice pass (once per hunt, combined slices included), then causes, leaked state and
    fixes."""
    work = settings.work
    for old in (work / "explain", work / "fixes"):
        shutil.rmtree(old, ignore_errors=True)
    seed = hunt_mod.derive_seed(settings.seed, 0)
    passed_twice = twice_mod.run_twice(
        settings.root,
        work,
        seed=seed,
        seed_args=[*seed_args(seed), "--randomly-dont-reorganize"],
        pytest_args=settings.pytest_args,
        timeout=settings.timeout,
        relative=_relative(work / f"{twice_mod.NAME}.xml", settings.root),
    )
    trials = Trials(
        settings.root,
        work / "explain",
        timeout=settings.timeout,
        options=options,
        stop=stop,
        alpha=args.alpha,
    )
    explained = explain_all(
        trials,
        tests,
        findings,
        passed_twice.suspects,
        reports_dir=settings.reports_dir,
        known=max(1, args.alone),
        jobs=settings.jobs,
    )
    shutil.rmtree(work / "explain", ignore_errors=True)  # scratch copies and their runs
    return TwiceRun(passed_twice.seed, passed_twice.status, passed_twice.junit), explained


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _finish_slice(settings: hunt_mod.Settings, part: tuple[int, int], hunt: hunt_mod.Hunt) -> int:
    """A slice is not a hunt: it leaves its iterations and manifest for --combine."""
    path = slices_mod.write_manifest(settings, part, hunt.iterations)
    k, m = part
    done = hunt.ordered
    failed = sum(any(r.outcome.is_failure for r in it.records) for it in done)
    print(
        f"testgate flaky: slice {k}/{m} of a {settings.count}-iteration hunt (seed "
        f"{settings.seed}): iterations {', '.join(str(it.iteration) for it in done)}; "
        f"{failed} with a failing test"
    )
    print(f"manifest: {path}; merge every slice with testgate flaky --combine DIR...")
    if hunt.interrupted:
        raise Interrupted(
            f"interrupted after {len(done)} of {len(settings.planned)} iterations of slice "
            f"{k}/{m}; continue with testgate flaky --resume"
        )
    return int(ExitCode.OK)


def _classifier(
    args: argparse.Namespace,
    settings: hunt_mod.Settings,
    stop: threading.Event,
    options: tuple[str, ...],
) -> Classifier:
    """The classifier a hunt and a burn-in share: --alone, --alpha, --max-classify-runs."""
    return Classifier(
        settings.root,
        settings.work,
        timeout=settings.timeout,
        jobs=settings.jobs,
        alone=args.alone,
        alpha=args.alpha,
        max_runs=args.max_classify_runs,
        stop=stop,
        options=options,
    )


def _finish(
    args: argparse.Namespace,
    config: config_mod.Config,
    settings: hunt_mod.Settings,
    hunt: hunt_mod.Hunt,
    stop: threading.Event,
    *,
    combined: int | None = None,
) -> int:
    """Aggregate, classify, report, record and judge a whole hunt (one machine's or combined)."""
    reports_dir = settings.reports_dir
    budget = config.flaky
    iterations = hunt.ordered
    tests = aggregate(iterations)
    options = _options(settings, iterations)
    findings: dict[str, Finding] = {}
    interrupted = hunt.interrupted
    if not interrupted and args.classify:
        classifier = _classifier(args, settings, stop, options)
        try:
            findings = classify_all(classifier, tests, iterations)
        except KeyboardInterrupt:
            stop.set()
            interrupted = True
        except Stopped:  # pragma: no cover - stop is set only by an interrupt
            interrupted = True
    explained: dict[str, Explanation] = {}
    twice_record: TwiceRun | None = None
    if not interrupted and args.classify and args.explain:
        try:
            twice_record, explained = _explain(args, settings, tests, findings, options, stop)
        except KeyboardInterrupt:
            stop.set()
            interrupted = True
        except Stopped:  # pragma: no cover - stop is set only by an interrupt
            interrupted = True
    count = settings.count if hunt.settled is None else hunt.settled
    report = build_report(
        iterations,
        tests,
        findings,
        count=count,
        seed=settings.seed,
        complete=not interrupted and len(iterations) == count,
        budget=budget,
        pytest_args=settings.pytest_args,
        options=options,
        alpha=args.alpha,
        max_classify_runs=args.max_classify_runs if args.classify else None,
        explanations=explained,
        twice=twice_record,
    )
    until = None
    if settings.until is not None and not interrupted:
        until = _until_meta(settings, settings.until, hunt, tests)
    report = dataclasses.replace(
        report, meta=dataclasses.replace(report.meta, slices=combined, until=until)
    )
    paths = write_reports(reports_dir, report, tests)
    _print_summary(report)
    if report.meta.until is not None:
        print(f"testgate flaky: {until_line(report.meta)}")
    print("reports: " + ", ".join(str(p) for p in paths))
    if not interrupted:
        _record(replace(config, reports=reports_dir), report)
    if interrupted:
        raise Interrupted(
            f"interrupted after {len(iterations)} of {settings.count} runs; partial report in "
            f"{paths[0]}; continue with testgate flaky --resume"
        )
    checks = downgrade(check_flaky(report, budget, today=dt.date.today()), config.is_informational)
    for check in checks:
        print(f"{check.id}: {check.status.value}: {check.message}")
    failed = any(c.status is Status.FAIL for c in checks)
    return int(ExitCode.BUDGET_VIOLATED if failed else ExitCode.OK)


def _until_meta(
    settings: hunt_mod.Settings,
    until: tuple[float, float],
    hunt: hunt_mod.Hunt,
    tests: list[TestSummary],
) -> UntilMeta:
    """How an adaptive hunt ended: early (every test settled) or at --count (some were not)."""
    rate, confidence = until
    open_ids = unsettled(tests, Until(rate, confidence))
    early = hunt.settled is not None and hunt.settled < settings.count
    return UntilMeta(
        rate=rate,
        confidence=confidence,
        max_count=settings.count,
        stopped="early" if early else "count",
        settled=not open_ids,
        unsettled=tuple(open_ids),
    )


def _options(settings: hunt_mod.Settings, iterations: list[Iteration]) -> tuple[str, ...]:
    """The hunt's pytest options, split from its test paths the way pytest itself read them in
    an iteration; none when no iteration got as far as saying."""
    for it in iterations:
        positional = positional_args(settings.work / f"{settings.name(it.iteration)}.jsonl")
        if positional is not None:
            return carried_options(settings.pytest_args, positional)
    return ()


def _record(config: config_mod.Config, report: FlakyReport) -> None:
    """A finished hunt joins the run history, so flaky frequency spans hunts and gates; a broken
    history only warns: the hunt's own reports are already written."""
    with warn_only(config.history_path):
        history.record_flaky(config.history_path, report, config.root, keep=config.history_keep)


def _print_summary(report: FlakyReport) -> None:
    s = report.summary or FlakySummary()
    print(bound_line(report.meta.alpha if report.meta.alpha is not None else ALPHA))
    print(
        f"testgate flaky: {s.runs} runs ({s.completed} completed), {s.tests} tests: "
        f"{s.flaky} flaky, {s.failed} failed, {s.passed} passed, {s.skipped} skipped, "
        f"{s.xfailed} xfailed"
    )
    for t in report.flaky:
        culprit = (
            f", polluter {t.polluter}"
            if t.polluter
            else f", state setter {t.state_setter}"
            if t.state_setter
            else ""
        )
        kind = t.kind or "not classified"
        if t.p_chance is not None:
            kind += f", chance <= {t.p_chance:.2g}"
        print(f"  flaky: {t.id} ({kind}, failed {t.failed} of {t.executed}{culprit})")
        if t.note:
            print(f"    note: {t.note}")
        if t.repro:
            print(f"    repro: {t.repro}")
            how = f"failed {t.repro_failed} of {t.repro_runs} runs"
            if t.repro_deterministic:
                how += ", deterministic"
            elif t.repro_chance is not None:
                how += f", fails at least once with probability >= {t.repro_chance:.0%}"
            print(f"    repro checked: {how}")
        why = t.cause or ", ".join(t.leaked)
        if why:
            print(f"    why: {why}")
        if t.fix is not None:
            state = "verified" if t.fix.get("verified") else "not verified"
            print(f"    fix: {t.fix.get('patch')} ({state})")
        if t.passes_with:
            print(f"    passes with: {t.passes_with}")
