"""Why a test is flaky, and only what the evidence shows beyond chance.

Each flaky test's classification is a sequence of fresh pytest processes, stopped as soon as
the evidence decides (see `testgate.flaky.stats` for the bound and why looking after every run
does not inflate it):

1. Replay: the exact order it failed in (same seed, same order, same options) runs again. A
   failure that does not come back is `non-deterministic`, and nothing is bisected. The replay
   only decides whether to go on: it is not counted as evidence (a test driven by `random`,
   reseeded by pytest-randomly from that seed, fails on it for certain).
2. Alone: the test on its own, one run per process (a test that fails only when repeated in
   one process is not made to look brittle). Passing alone points to a `polluter`, failing
   alone to a `state_setter`; a test that does both is `non-deterministic`.
3. Bisection of the order (kept in its relative order, halved each run: about log2(n) runs)
   picks one candidate. Bisection is selection, not evidence: its runs never count towards a
   claim, so a step that followed noise costs runs, never a wrong claim, because
4. the candidate pair is then re-checked until `chance` <= alpha / ATTEMPTS, or the first run
   that goes against it. Without a single culprit the whole order is re-checked the same way.
5. What the cap (`--max-classify-runs`) leaves undecided is `non-deterministic`, with a note
   that order effects were not ruled out.

Every repro command is one that ran: the pair, the test alone, the whole order (not reseeded), or
for a non-deterministic test its failing seed repeated (run once here, with the probability of
failing at least once that its `--count` was chosen for).
"""

from __future__ import annotations

import importlib.util
import itertools
import shlex
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from testgate.flaky.aggregate import Iteration, TestSummary, prefix
from testgate.flaky.runner import PytestRun, run_pytest
from testgate.flaky.stats import chance, fails_at_least_once, plan_claim, runs_to_fail, wilson
from testgate.model import Outcome
from testgate.model.flaky import (
    ALPHA,
    BRITTLE,
    FAILED,
    FLAKY,
    NON_DETERMINISTIC,
    ORDER_DEPENDENT,
)

FIXED_ORDER = ("-p", "no:randomly", "-p", "no:cacheprovider")
MAX_REPEAT = 1000
MAX_CLASSIFY_RUNS = 50

Predicate = Callable[[Outcome | None], bool]


def fails(outcome: Outcome | None) -> bool:
    """A failure, an error, or the test never reached (its process died before it)."""
    return outcome is None or outcome.is_failure


def passes(outcome: Outcome | None) -> bool:
    return outcome in (Outcome.PASSED, Outcome.XPASSED)


def command(args: Sequence[str]) -> str:
    """A command line a user pastes into a shell in the project root."""
    return shlex.join(["python", "-m", "pytest", *args])


def seed_args(seed: int) -> list[str]:
    return ["-p", "randomly", "-p", "no:cacheprovider", f"--randomly-seed={seed}"]


# Options that decide how many tests run, how often, in which order or where: classification
# and its repro commands decide those themselves.
_DROPPED_FLAGS = frozenset(("-x", "--exitfirst", "--sw", "--stepwise", "--sw-skip"))
_DROPPED_WITH_VALUE = frozenset(
    ("--maxfail", "--count", "--repeat-scope", "-n", "--numprocesses", "--dist",
     "--maxprocesses", "--randomly-seed")
)  # fmt: skip


def carried_options(pytest_args: Sequence[str], positional: Sequence[str]) -> tuple[str, ...]:
    """The hunt's pytest arguments that every classification run and repro command keeps:
    all but the test paths pytest read (`positional`, removed from the end) and the options
    that would change which tests run, how often, in which order or where."""
    args = list(pytest_args)
    for name in reversed(positional):
        where = max((i for i, arg in enumerate(args) if arg == name), default=None)
        if where is not None:
            del args[where]
    kept: list[str] = []
    values = iter(args)
    for arg in values:
        option, eq, _ = arg.partition("=")
        if option in _DROPPED_WITH_VALUE:
            if not eq:
                next(values, None)
            continue
        if arg == "-p":
            plugin = next(values, "")
            if "randomly" not in plugin:
                kept += [arg, plugin]
            continue
        if arg in _DROPPED_FLAGS or (arg.startswith("-n") and not arg.startswith("--")):
            continue
        if arg.startswith("-p") and "randomly" in arg and not arg.startswith("--"):
            continue
        kept.append(arg)
    return tuple(kept)


@dataclass(frozen=True)
class Finding:
    """What classification found for one test, and the runs it rests on.

    `kind` is None for a test that failed in every run: only its repro was checked.
    `repro_runs` / `repro_failed`: how often the printed repro command ran and failed.
    """

    kind: str | None
    repro: str | None
    polluter: str | None = None
    state_setter: str | None = None
    passes_with: str | None = None  # brittle: a command that passes, state setter first
    verified: bool = False
    pytest_runs: int = 0
    p_chance: float | None = None
    note: str | None = None
    repro_runs: int = 0
    repro_failed: int = 0
    repro_deterministic: bool | None = None
    repro_chance: float | None = None  # a probabilistic repro: P(it fails at least once)


class _Undecided(Exception):
    """The cap was reached before the evidence decided."""


class _Chain:
    """One test's classification runs, counted and held to the cap."""

    def __init__(self, classifier: Classifier, victim: str) -> None:
        self.classifier, self.victim = classifier, victim
        self.runs = 0

    def left(self) -> int:
        return self.classifier.max_runs - self.runs

    def once(self, args: Sequence[str]) -> Outcome | None:
        if self.left() <= 0:
            raise _Undecided
        self.runs += 1
        return self.classifier.run(args).outcome_of(self.victim)

    def trials(self, args: Sequence[str], times: int, predicted: Predicate) -> int:
        """Run `args` `times` times, `jobs` at a time, and return how many went as predicted;
        stop at the first batch with one that did not (return -1). Raise `_Undecided` when the
        cap comes first."""
        good = 0
        while good < times:
            n = min(self.classifier.jobs, times - good, self.left())
            if n <= 0:
                raise _Undecided
            self.runs += n
            outcomes = self.classifier.batch(args, n, self.victim)
            if not all(predicted(o) for o in outcomes):
                return -1
            good += n
        return good


class Classifier:
    """Runs the extra pytest processes classification needs, at most `jobs` at once."""

    def __init__(
        self,
        root: Path,
        work: Path,
        *,
        timeout: float,
        jobs: int = 1,
        alone: int = 0,
        alpha: float = ALPHA,
        max_runs: int = MAX_CLASSIFY_RUNS,
        stop: threading.Event | None = None,
        options: Sequence[str] = (),
    ) -> None:
        self.root, self.work, self.timeout = root, work, timeout
        self.options = tuple(options)  # the hunt's own pytest options (`carried_options`)
        self.jobs, self.alone = max(1, jobs), max(0, alone)
        self.alpha, self.max_runs = alpha, max(1, max_runs)
        self.stop = stop if stop is not None else threading.Event()
        self.runs = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.jobs)

    def run(self, args: Sequence[str]) -> PytestRun:
        with self._lock:
            n = next(self._ids)
            self.runs += 1
        with self._slots:
            return run_pytest(
                list(args),
                root=self.root,
                log=self.work / f"classify-{n}.jsonl",
                timeout=self.timeout,
                output=self.work / f"classify-{n}.log",
                stop=self.stop,
            )

    def batch(self, args: Sequence[str], times: int, victim: str) -> list[Outcome | None]:
        """The victim's outcome in `times` fresh processes running `args`."""
        if times == 1:
            return [self.run(args).outcome_of(victim)]
        with ThreadPoolExecutor(max_workers=min(self.jobs, times)) as pool:
            return [r.outcome_of(victim) for r in pool.map(lambda _: self.run(args), range(times))]

    def fixed(self, ids: Sequence[str]) -> list[str]:
        """pytest's arguments for `ids` in this order, with the hunt's own options."""
        return [*FIXED_ORDER, *self.options, *ids]

    def replayed(self, seed: int, ids: Sequence[str]) -> list[str]:
        """An iteration's order up to and including its last id, as it ran: the same seed
        (pytest-randomly reseeds each test from it and the test id, not the position), the same
        order, the same options."""
        return [*seed_args(seed), "--randomly-dont-reorganize", *self.options, *ids]

    def bisect(self, chain: _Chain, candidates: list[str], victim: str, wanted: Predicate) -> str:
        """The candidate that, run before `victim`, gives the wanted outcome, if there is one.

        Only the first half runs each step (the culprit is in the other half when it does not
        give the outcome): log2(n) runs. The caller re-checks the candidate pair until the
        bound decides, so a step that followed noise ends in a refuted pair, not a claim.
        """
        while len(candidates) > 1:
            half = len(candidates) // 2
            first = candidates[:half]
            if wanted(chain.once(self.fixed([*first, victim]))):
                candidates = first
            else:
                candidates = candidates[half:]
        return candidates[0]

    def classify(self, test: TestSummary, iterations: Sequence[Iteration]) -> Finding:
        chain = _Chain(self, test.id)
        try:
            finding = self._classify(chain, test, iterations)
        except _Undecided:
            finding = self._non_deterministic(
                chain,
                test,
                f"order effects were not ruled out: the evidence stayed insufficient within "
                f"{self.max_runs} classification runs (--max-classify-runs)",
            )
        return replace(finding, pytest_runs=chain.runs)

    def _classify(
        self, chain: _Chain, test: TestSummary, iterations: Sequence[Iteration]
    ) -> Finding:
        victim = test.id
        failing = [it for it in iterations if prefix(it, victim, failed=True) is not None]
        if not failing:  # pragma: no cover - a flaky test failed in some iteration
            return self._non_deterministic(chain, test, "no failing order was recorded")
        first = failing[0]
        order = prefix(first, victim, failed=True) or []
        replay = self.replayed(first.seed, [*order, victim])
        if not fails(chain.once(replay)):
            return self._non_deterministic(
                chain,
                test,
                f"its failure did not come back when its failing order (iteration "
                f"{first.iteration}, seed {first.seed}) was replayed",
            )
        alone = chain.once(self.fixed([victim]))
        if passes(alone):
            return self._victim(chain, test, order)
        if fails(alone):
            return self._brittle(chain, test, iterations)
        seen = alone.value if alone is not None else "not run"  # None counts as failing
        return self._non_deterministic(chain, test, f"alone it was {seen}")

    def _victim(self, chain: _Chain, test: TestSummary, order: list[str]) -> Finding:
        """Passed alone, failed again in its failing order: who breaks it?"""
        victim = test.id
        alone_args = self.fixed([victim])
        alone, k = plan_claim(self.alpha, self.alone)
        if chain.trials(alone_args, alone - 1, passes) < 0:
            return self._non_deterministic(
                chain, test, "it failed alone as well as after other tests"
            )
        if order:
            culprit = self.bisect(chain, list(order), victim, fails)
            pair = self.fixed([culprit, victim])
            if chain.trials(pair, k, fails) == k:
                return Finding(
                    ORDER_DEPENDENT,
                    command(pair),
                    polluter=culprit,
                    verified=True,
                    p_chance=chance(alone, k),
                    repro_runs=k,
                    repro_failed=k,
                    repro_deterministic=True,
                )
        # The evidence runs keep the order but not the seed: pytest-randomly reseeds `random`
        # from it, which would make a coin-flip test fail on every seeded run alike.
        whole = self.fixed([*order, victim])
        if order and chain.trials(whole, k, fails) == k:
            return Finding(
                ORDER_DEPENDENT,
                command(whole),
                verified=True,
                p_chance=chance(alone, k),
                note="no single test before it breaks it: the tests before it do together",
                repro_runs=k,
                repro_failed=k,
                repro_deterministic=True,
            )
        return self._non_deterministic(
            chain,
            test,
            "it passed alone, but its failing order did not fail it every time: "
            "order effects were not ruled out",
        )

    def _brittle(
        self, chain: _Chain, test: TestSummary, iterations: Sequence[Iteration]
    ) -> Finding:
        """Failed alone and in its failing order: who makes it pass?"""
        victim = test.id
        alone_args = self.fixed([victim])
        alone, k = plan_claim(self.alpha, self.alone, fails_alone=True)
        if chain.trials(alone_args, alone - 1, fails) < 0:
            return self._non_deterministic(
                chain, test, "alone it passed in some runs and failed in others"
            )
        passing = next((it for it in iterations if prefix(it, victim, failed=False)), None)
        if passing is None:
            return self._non_deterministic(
                chain, test, "it failed alone, and it passed only with no test before it"
            )
        order = prefix(passing, victim, failed=False) or []
        setter = self.bisect(chain, list(order), victim, passes)
        pair = self.fixed([setter, victim])
        # the repro is the test alone: it failed in every one of its runs alone
        found = Finding(
            BRITTLE,
            command(alone_args),
            verified=True,
            p_chance=chance(k, alone),
            repro_runs=alone,
            repro_failed=alone,
            repro_deterministic=True,
        )
        if chain.trials(pair, k, passes) == k:
            return replace(found, state_setter=setter, passes_with=command(pair))
        whole = self.fixed([*order, victim])  # not reseeded: see _victim
        if chain.trials(whole, k, passes) == k:
            return replace(
                found,
                passes_with=command(whole),
                note="no single test before it makes it pass: the tests before it do together",
            )
        return self._non_deterministic(
            chain,
            test,
            "it failed alone, but no order made it pass every time: "
            "order effects were not ruled out",
        )

    def _non_deterministic(self, chain: _Chain, test: TestSummary, note: str) -> Finding:
        """Its failing seed repeated, run once here to say whether it did fail."""
        args, runs = repro_args(test, self.options, repeat=True)
        ran = self.run(args)
        chain.runs += 1
        low = wilson(test.failed, test.passed + test.failed)[0]
        return Finding(
            NON_DETERMINISTIC,
            command(args),
            note=note,
            repro_runs=1,
            repro_failed=int(any(o.is_failure for o in ran.outcomes_of(test.id))),
            repro_deterministic=False,
            repro_chance=round(fails_at_least_once(max(low, 1e-3), runs), 4),
        )

    def check_failed(self, test: TestSummary) -> Finding:
        """A test that failed in every run: its repro, run once."""
        args, _ = repro_args(test, self.options)
        ran = self.run(args)
        failed = int(any(o.is_failure for o in ran.outcomes_of(test.id)) or not ran.records)
        return Finding(None, command(args), pytest_runs=1, repro_runs=1, repro_failed=failed)


def classify_all(
    classifier: Classifier, tests: Sequence[TestSummary], iterations: Sequence[Iteration]
) -> dict[str, Finding]:
    """Each flaky test's chain of runs is sequential; the chains run side by side, and so do
    the checks of the always-failing tests' repros."""
    work = [t for t in tests if t.verdict in (FLAKY, FAILED)]
    if not work:
        return {}
    pool = ThreadPoolExecutor(max_workers=min(classifier.jobs, len(work)))
    try:
        futures = [
            pool.submit(classifier.classify, t, iterations)
            if t.verdict == FLAKY
            else pool.submit(classifier.check_failed, t)
            for t in work
        ]
        return {t.id: f.result() for t, f in zip(work, futures, strict=True)}
    except KeyboardInterrupt:
        classifier.stop.set()  # the running pytest processes are killed, not waited for
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def has_repeat() -> bool:
    return importlib.util.find_spec("pytest_repeat") is not None


def repro_args(
    test: TestSummary, options: Sequence[str] = (), *, repeat: bool = False
) -> tuple[list[str], int]:
    """Its first failing seed; with `repeat`, repeated until it fails with 99% confidence at the
    lower end of its failure rate's interval. Returns the arguments and the repetitions."""
    seed = test.failures[0].seed if test.failures else 0
    args = seed_args(seed)
    executed = test.passed + test.failed
    runs = 1
    if repeat and test.passed and has_repeat():
        low = wilson(test.failed, executed)[0]
        runs = min(MAX_REPEAT, runs_to_fail(max(low, 1e-3)))
        args.append(f"--count={runs}")
    return [*args, *options, test.id], runs


def repro_failing(test: TestSummary, options: Sequence[str] = (), *, repeat: bool = False) -> str:
    return command(repro_args(test, options, repeat=repeat)[0])
