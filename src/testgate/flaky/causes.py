"""Why a non-deterministic test fails: one source of non-determinism at a time, pinned.

For each cause (random, time, concurrency, hash-seed, network) a cheap screen looks for one
value of that source under which the test fails and one under which it passes. A candidate is
then confirmed in fresh processes, alternating the failing value (the printed repro, run as
printed) and the passing one, until either contradicts it (a pass where it should fail, a
failure where it should pass: no claim) or chance is ruled out: the best rival, a test failing
at one rate p whatever the condition, gives what was seen with probability at most alpha,
divided among the causes tried. A repro that failed every one of its runs, enough of them to
rule out a coin flip at alpha, is deterministic.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from testgate.flaky import control
from testgate.flaky.runner import PytestRun
from testgate.flaky.trials import FIXED_ORDER, Evidence, Trials, deterministic_runs
from testgate.model.flaky import COMPLETED

RANDOM, HASH_SEED, TIME, NETWORK, CONCURRENCY, UNKNOWN = (
    "random", "hash-seed", "time", "network", "concurrency", "unknown",
)  # fmt: skip
CAUSES = (RANDOM, TIME, CONCURRENCY, HASH_SEED, NETWORK)
SCREEN = 12
MAX_CONFIRM = 12
REPEAT = "--repeat-scope"
# 2026-01-01T00:00:00Z plus offsets: fractions of a second, the ends of a minute, hour, day, year
EPOCH = 1767225600.0
CLOCKS = (0.05, 0.3, 0.55, 0.8, 59.95, 3599.95, 86399.95, 31535999.95, 43200.5, 1.7, 0.95, 12.4)
SWITCHES = ("0.000001", "1.0")
RACE_REPEAT = 3  # a race is a chance per run: each repro process tries it this often


@dataclass(frozen=True)
class Condition:
    """Arguments and environment that pin one value of a cause."""

    label: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()

    def command(self, trials: Trials, test_id: str) -> str:
        from testgate.flaky.classify import command

        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env)
        cmd = command([*FIXED_ORDER, *trials.options, *self.args, test_id])
        return f"{prefix} {cmd}" if prefix else cmd


@dataclass(frozen=True)
class Cause:
    cause: str
    p_chance: float | None
    evidence: tuple[Evidence, ...]
    repro: str | None = None
    repro_deterministic: bool = False
    fail: Condition | None = None  # the condition of the repro
    ok: Condition | None = None  # a condition under which it passed
    repro_failed: int = 0


def chance(a_fail: int, count: int, b_pass: int, grid: int = 2000) -> float:
    """max over p of (1 - (1-p)^count)^a_fail * (1-p)^b_pass: every provoking process (each
    running the test `count` times) failed, every stabilizing run passed, at one rate p."""
    if a_fail == 0 or b_pass == 0:
        return 1.0
    best = 0.0
    for i in range(1, grid):
        p = i / grid
        q = 1.0 - (1.0 - p) ** count
        best = max(best, q**a_fail * (1.0 - p) ** b_pass)
    return best


def _fail_in(run: PytestRun, test_id: str) -> bool | None:
    """Whether the test failed at least once in the run; None when it never ran."""
    got = run.outcomes_of(test_id)
    if not got:
        return None
    return any(o.is_failure for o in got)


def _plugin(option: str, value: str, count: int = 1) -> tuple[str, ...]:
    extra = ("--count", str(count), REPEAT, "function") if count > 1 else ()
    return ("-p", control.PLUGIN, f"--testgate-{option}={value}", *extra)


def _condition(cause: str, value: str) -> Condition:
    if cause == RANDOM:
        return Condition(f"seed {value}", _plugin("seed", value))
    if cause == TIME:
        return Condition(f"clock at {value}", _plugin("clock", value))
    if cause == CONCURRENCY:
        count = RACE_REPEAT if float(value) < 0.001 else 1
        what = f"thread switch interval {value} s" + (f" x{count}" if count > 1 else "")
        return Condition(what, _plugin("switch-interval", value, count))
    if cause == HASH_SEED:
        return Condition(f"PYTHONHASHSEED={value}", (), (("PYTHONHASHSEED", value),))
    if value == "off":
        return Condition("network refused", _plugin("network", "off"))
    return Condition("no control (fresh process)")


def _screen_one_process(
    trials: Trials, test_id: str, option: str, values: Sequence[str]
) -> tuple[list[str], list[str]]:
    run = trials.run(
        [
            "-p",
            control.PLUGIN,
            f"--testgate-{option}={','.join(values)}",
            "--count",
            str(len(values)),
            REPEAT,
            "function",
            test_id,
        ]
    )
    outcomes = run.outcomes_of(test_id)
    fails = [v for v, o in zip(values, outcomes, strict=False) if o.is_failure]
    passes = [v for v, o in zip(values, outcomes, strict=False) if not o.is_failure]
    return fails, passes


def _screen(trials: Trials, test_id: str, cause: str) -> tuple[list[str], list[str], Evidence]:
    if cause == RANDOM:
        values = [str(s) for s in range(1, SCREEN + 1)]
        fails, passes = _screen_one_process(trials, test_id, "seed", values)
        label = f"seeds 1..{SCREEN}, one process"
    elif cause == TIME:
        values = [repr(EPOCH + c) for c in CLOCKS]
        fails, passes = _screen_one_process(trials, test_id, "clock", values)
        label = f"{len(values)} clock starts, one process"
    elif cause == CONCURRENCY:
        values = [SWITCHES[i % 2] for i in range(SCREEN)]
        fails, passes = _screen_one_process(trials, test_id, "switch-interval", values)
        label = "switch interval 1e-6 s / 1 s alternating, one process"
    elif cause == HASH_SEED:
        values = [str(s) for s in range(1, 7)]

        def one(seed: str) -> bool | None:
            return _fail_in(trials.run([test_id], env={"PYTHONHASHSEED": seed}), test_id)

        with ThreadPoolExecutor(max_workers=trials.jobs) as pool:
            got = list(pool.map(one, values))
        fails = [v for v, f in zip(values, got, strict=True) if f]
        passes = [v for v, f in zip(values, got, strict=True) if f is False]
        label = f"PYTHONHASHSEED 1..{len(values)}, one process each"
    else:  # network: refused, three runs in one process
        run = trials.run([*_plugin("network", "off", 3), test_id])
        outcomes = run.outcomes_of(test_id)
        fails = ["off"] if outcomes and all(o.is_failure for o in outcomes) else []
        passes = ["uncontrolled"] if fails else []
        values = ["off"] * len(outcomes)
        label = "network refused, 3 runs in one process"
        return fails, passes, Evidence(label, len(outcomes), sum(o.is_failure for o in outcomes))
    return fails, passes, Evidence(f"screen: {label}", len(values), len(fails))


def _confirm(
    trials: Trials, test_id: str, cause: str, fail: Condition, ok: Condition, share: float
) -> tuple[float | None, int, int, int, int]:
    """Alternate the failing and the passing condition until the claim is shown or broken.

    Returns (p_chance or None, fail runs, fails seen, pass runs, failures seen there).
    """
    count = RACE_REPEAT if cause == CONCURRENCY else 1
    need = deterministic_runs(trials.alpha)
    a = a_fail = b = b_fail = 0

    def go(cond: Condition) -> bool | None:
        run = trials.run([*cond.args, test_id], env=dict(cond.env) or None)
        return _fail_in(run, test_id) if run.status == COMPLETED else True

    with ThreadPoolExecutor(max_workers=max(1, min(2, trials.jobs))) as pool:
        while a < MAX_CONFIRM:
            a_res, b_res = pool.map(go, (fail, ok))
            a, b = a + 1, b + 1
            a_fail += bool(a_res)
            b_fail += bool(b_res)
            if not a_res or b_res or b_res is None:
                return None, a, a_fail, b, b_fail
            bound = chance(a_fail, count, b) / share
            if bound <= trials.alpha and a >= need:
                return bound, a, a_fail, b, b_fail
    return None, a, a_fail, b, b_fail  # pragma: no cover - the bound falls fast when all agree


def find_cause(trials: Trials, test_id: str, causes: Sequence[str] = CAUSES) -> Cause:
    """The first cause whose failing and passing values are confirmed; `unknown` otherwise."""
    rows: list[Evidence] = []
    share = 1.0 / len(CAUSES)  # each cause gets its part of alpha
    for cause in causes:
        fails, passes, screen = _screen(trials, test_id, cause)
        rows.append(Evidence(f"{cause}: {screen.condition}", screen.runs, screen.failed))
        if not fails or not passes:
            continue
        bad, good = _condition(cause, fails[0]), _condition(cause, passes[0])
        if cause == CONCURRENCY:
            bad, good = _condition(cause, SWITCHES[0]), _condition(cause, SWITCHES[1])
        if cause == NETWORK:
            good = _condition(cause, "none")
        p, a, a_fail, b, b_fail = _confirm(trials, test_id, cause, bad, good, share)
        rows.append(Evidence(f"{cause}: {bad.label}", a, a_fail))
        rows.append(Evidence(f"{cause}: {good.label}", b, b_fail))
        if p is None:
            continue
        return Cause(
            cause,
            p,
            tuple(rows),
            repro=bad.command(trials, test_id),
            repro_deterministic=a_fail == a and a >= deterministic_runs(trials.alpha),
            fail=bad,
            ok=good,
            repro_failed=a_fail,
        )
    return Cause(UNKNOWN, None, tuple(rows))
