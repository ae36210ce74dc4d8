"""`testgate flaky`: the flake hunt, and `--plan RATE CONFIDENCE`."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import secrets
import shutil
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from testgate import config as config_mod
from testgate import history
from testgate._cpu import usable_cores
from testgate.checks import Status
from testgate.checks.flaky import check_flaky
from testgate.commands import _argtypes
from testgate.errors import ExitCode, Interrupted, UsageError
from testgate.flaky import hunt as hunt_mod
from testgate.flaky import twice as twice_mod
from testgate.flaky.aggregate import Iteration, TestSummary, aggregate
from testgate.flaky.classify import (
    Classifier,
    Finding,
    carried_options,
    classify_all,
    seed_args,
)
from testgate.flaky.explain import Explanation, explain_all
from testgate.flaky.report import build_report, write_reports
from testgate.flaky.runner import Stopped, positional_args
from testgate.flaky.stats import plan
from testgate.flaky.trials import DEFAULT_ALPHA, Trials
from testgate.history.publish import warn_only
from testgate.model.flaky import FlakyReport, FlakySummary, TwiceRun

_positive_int = _argtypes.whole(1)
_seed = _argtypes.whole(0)
_seconds = _argtypes.real(
    lambda v: v > 0, "must be more than 0 seconds", what="a number of seconds"
)
_probability = _argtypes.real(lambda v: 0 < v < 1, "must be strictly between 0 and 1")


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
        default=5,
        help="runs of a flaky test alone when classifying (5)",
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
        "pytest_args", nargs=argparse.REMAINDER, help="-- then arguments for pytest"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.plan is not None:
        print(plan(*args.plan))
        return int(ExitCode.OK)
    pytest_args = list(args.pytest_args)
    if pytest_args and pytest_args[0] == "--":
        pytest_args = pytest_args[1:]
    for module, name in (("pytest", "pytest"), ("pytest_randomly", "pytest-randomly")):
        if importlib.util.find_spec(module) is None:
            raise UsageError(
                f"{name} is not installed for {sys.executable}; install testgate[hunt] "
                "in the project's environment"
            )
    root = Path.cwd()
    config = config_mod.load(root, args.config)
    reports_dir = args.reports if args.reports is not None else config.reports_dir
    budget = config.flaky
    work = reports_dir / "flaky"
    seed, count, timeout = args.seed, args.count, args.timeout
    if args.resume:
        state = hunt_mod.load_state(work)
        if seed is not None and seed != state["seed"]:
            raise UsageError(f"--resume continues the hunt with seed {state['seed']}; drop --seed")
        if pytest_args and pytest_args != state["pytest_args"]:
            raise UsageError("--resume continues the hunt with its own pytest arguments; drop them")
        seed, pytest_args = int(state["seed"]), list(state["pytest_args"])
        count = count or int(state["count"])
        timeout = timeout or float(state["timeout"])
    settings = hunt_mod.Settings(
        root=root,
        reports_dir=reports_dir,
        count=count or budget.count,
        seed=secrets.randbelow(2**32) if seed is None else seed,
        jobs=args.jobs or usable_cores(),
        timeout=timeout or budget.timeout,
        pytest_args=tuple(pytest_args),
    )
    show = sys.stderr.isatty() if args.progress is None else args.progress
    stop = threading.Event()
    hunt = hunt_mod.run(
        settings, resume=args.resume, progress=sys.stderr if show else None, stop=stop
    )
    iterations = hunt.ordered
    tests = aggregate(iterations)
    options = _options(settings, iterations)
    findings: dict[str, Finding] = {}
    interrupted = hunt.interrupted
    if not interrupted and args.classify:
        classifier = Classifier(
            root,
            work,
            timeout=settings.timeout,
            jobs=settings.jobs,
            alone=args.alone,
            stop=stop,
            options=options,
        )
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
    report = build_report(
        iterations,
        tests,
        findings,
        count=settings.count,
        seed=settings.seed,
        complete=not interrupted and len(iterations) == settings.count,
        budget=budget,
        pytest_args=settings.pytest_args,
        options=options,
        explanations=explained,
        twice=twice_record,
        alpha=_alpha(args),
    )
    paths = write_reports(reports_dir, report, tests)
    _print_summary(report)
    print("reports: " + ", ".join(str(p) for p in paths))
    if not interrupted:
        _record(replace(config, reports=reports_dir), report)
    if interrupted:
        raise Interrupted(
            f"interrupted after {len(iterations)} of {settings.count} runs; partial report in "
            f"{paths[0]}; continue with testgate flaky --resume"
        )
    failed = False
    for check in check_flaky(report, budget, today=dt.date.today()):
        informational = config.is_informational(check.id)
        mark = check.status.value
        if check.status is Status.FAIL and informational:
            mark = Status.WARN.value
        elif check.status is Status.FAIL:
            failed = True
        print(f"{check.id}: {mark}: {check.message}")
    return int(ExitCode.BUDGET_VIOLATED if failed else ExitCode.OK)


def _alpha(args: argparse.Namespace) -> float:
    alpha = getattr(args, "alpha", None)
    return DEFAULT_ALPHA if alpha is None else float(alpha)


def _explain(
    args: argparse.Namespace,
    settings: hunt_mod.Settings,
    tests: list[TestSummary],
    findings: dict[str, Finding],
    options: tuple[str, ...],
    stop: threading.Event,
) -> tuple[TwiceRun, dict[str, Explanation]]:
    """The twice pass (once per hunt), then causes, leaked state and fixes."""
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
        alpha=_alpha(args),
    )
    explained = explain_all(
        trials,
        tests,
        findings,
        passed_twice.suspects,
        reports_dir=settings.reports_dir,
        known=args.alone,
        jobs=settings.jobs,
    )
    shutil.rmtree(work / "explain", ignore_errors=True)  # scratch copies and their runs
    return TwiceRun(passed_twice.seed, passed_twice.status, passed_twice.junit), explained


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


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
    print(
        f"testgate flaky: {s.runs} runs ({s.completed} completed), {s.tests} tests: "
        f"{s.flaky} flaky, {s.failed} failed, {s.passed} passed, {s.skipped} skipped"
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
        print(f"  flaky: {t.id} ({kind}, failed {t.failed} of {t.executed}{culprit})")
        why = t.cause or ", ".join(t.leaked)
        if why:
            print(f"    why: {why} (p_chance {t.p_chance})")
        if t.repro:
            sure = " (fails every time)" if t.repro_deterministic else ""
            print(f"    repro{sure}: {t.repro}")
        if t.fix is not None:
            state = "verified" if t.fix.verified else "not verified"
            print(f"    fix: {t.fix.patch} ({state})")
        if t.passes_with:
            print(f"    passes with: {t.passes_with}")
