"""Why a test is flaky: alone K times, then bisection of the orders it ran in.

Fails alone every time -> `brittle` (it needs a `state_setter` to run first); passes alone every
time and failed only in some orders -> `order-dependent` (a `polluter` breaks it); otherwise
`non-deterministic`. Bisection keeps the candidates' relative order and halves them each pytest
run, so a polluter among n tests costs about log2(n) runs; every pair is run again before it
is reported.
"""

from __future__ import annotations

import importlib.util
import itertools
import shlex
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from testgate.flaky.aggregate import Iteration, TestSummary, prefix
from testgate.flaky.runner import PytestRun, run_pytest
from testgate.flaky.stats import runs_to_fail, wilson
from testgate.model import Outcome
from testgate.model.flaky import BRITTLE, FLAKY, NON_DETERMINISTIC, ORDER_DEPENDENT

FIXED_ORDER = ("-p", "no:randomly", "-p", "no:cacheprovider")
MAX_REPEAT = 1000
MAX_ORDERS = 2  # orders bisected per test before giving up on finding a culprit


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
    kind: str
    repro: str
    polluter: str | None = None
    state_setter: str | None = None
    passes_with: str | None = None  # brittle: the pair that passes, state setter first
    verified: bool = False
    pytest_runs: int = 0


class Classifier:
    """Runs the extra pytest processes classification needs; counts them."""

    def __init__(
        self,
        root: Path,
        work: Path,
        *,
        timeout: float,
        jobs: int = 1,
        alone: int = 5,
        stop: threading.Event | None = None,
        options: Sequence[str] = (),
    ) -> None:
        self.root, self.work, self.timeout = root, work, timeout
        self.options = tuple(options)  # the hunt's own pytest options (`carried_options`)
        self.jobs, self.alone = max(1, jobs), max(1, alone)
        self.stop = stop if stop is not None else threading.Event()
        self.runs = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._tally: dict[str, int] = {}

    def run(self, ids: Sequence[str]) -> PytestRun:
        """Every classification run ends with its victim, which is what the tally counts by."""
        with self._lock:
            n = next(self._ids)
            self.runs += 1
            self._tally[ids[-1]] = self._tally.get(ids[-1], 0) + 1
        return run_pytest(
            self.fixed(ids),
            root=self.root,
            log=self.work / f"classify-{n}.jsonl",
            timeout=self.timeout,
            output=self.work / f"classify-{n}.log",
            stop=self.stop,
        )

    def fixed(self, ids: Sequence[str]) -> list[str]:
        """pytest's arguments for `ids` in this order, with the hunt's own options."""
        return [*FIXED_ORDER, *self.options, *ids]

    def outcomes(self, ids: Sequence[str], victim: str, times: int) -> list[Outcome | None]:
        """The victim's outcome in `times` runs of `ids`, in order; None where it never ran.

        With pytest-repeat one process runs the whole sequence `times` times (the repeat scope
        is the session, so the order holds in every round); without it, `times` processes.
        """
        if times > 1 and has_repeat():
            run = self.run(["--count", str(times), "--repeat-scope", "session", *ids])
            got: list[Outcome | None] = list(run.outcomes_of(victim))
            return got + [None] * (times - len(got))
        with ThreadPoolExecutor(max_workers=min(self.jobs, times)) as pool:
            runs = list(pool.map(lambda _: self.run(ids), range(times)))
        return [r.outcome_of(victim) for r in runs]

    def bisect(
        self, candidates: list[str], victim: str, wanted: Callable[[Outcome | None], bool]
    ) -> str:
        """The candidate that, run before `victim`, gives the wanted outcome, if there is one.

        Only the first half runs each step (the culprit is in the other half when it does not
        give the outcome): log2(n) runs. The caller verifies the pair, so a failure that no
        single candidate causes is caught there, not assumed here.
        """
        while len(candidates) > 1:
            half = len(candidates) // 2
            first = candidates[:half]
            if wanted(self.run([*first, victim]).outcome_of(victim)):
                candidates = first
            else:
                candidates = candidates[half:]
        return candidates[0]

    def classify(self, test: TestSummary, iterations: Sequence[Iteration]) -> Finding:
        finding = self._classify(test, iterations)
        return Finding(
            finding.kind,
            finding.repro,
            finding.polluter,
            finding.state_setter,
            finding.passes_with,
            finding.verified,
            self._tally.get(test.id, 0),
        )

    def _classify(self, test: TestSummary, iterations: Sequence[Iteration]) -> Finding:
        victim = test.id
        alone = self.outcomes([victim], victim, self.alone)
        if all(o is not None and o.is_failure for o in alone):
            found = self._search(victim, iterations, polluter=False)
            if found is not None:
                return found
        elif all(o in (Outcome.PASSED, Outcome.XPASSED) for o in alone):
            found = self._search(victim, iterations, polluter=True)
            if found is not None:
                return found
        return non_deterministic(test, self.options)

    def _search(
        self, victim: str, iterations: Sequence[Iteration], *, polluter: bool
    ) -> Finding | None:
        def wanted(outcome: Outcome | None) -> bool:
            failed = outcome is None or outcome.is_failure
            return failed if polluter else outcome in (Outcome.PASSED, Outcome.XPASSED)

        reproduced: list[str] | None = None
        tried = 0
        for it in iterations:
            candidates = prefix(it, victim, failed=polluter)
            if not candidates or tried == MAX_ORDERS:
                continue
            tried += 1
            culprit = self.bisect(candidates, victim, wanted)
            reproduced = reproduced or candidates
            pair = [culprit, victim]
            if all(wanted(o) for o in self.outcomes(pair, victim, self.alone)):
                if polluter:
                    return Finding(
                        ORDER_DEPENDENT,
                        command(self.fixed(pair)),
                        polluter=culprit,
                        verified=True,
                    )
                return Finding(
                    BRITTLE,
                    command(self.fixed([victim])),
                    state_setter=culprit,
                    passes_with=command(self.fixed(pair)),
                    verified=True,
                )
        if reproduced is None or not all(
            wanted(o) for o in self.outcomes([*reproduced, victim], victim, self.alone)
        ):
            return None
        # The order reproduces it but no single test does: several tests act together.
        if polluter:
            return Finding(ORDER_DEPENDENT, command(self.fixed([*reproduced, victim])))
        return Finding(
            BRITTLE,
            command(self.fixed([victim])),
            passes_with=command(self.fixed([*reproduced, victim])),
        )


def classify_all(
    classifier: Classifier, tests: Sequence[TestSummary], iterations: Sequence[Iteration]
) -> dict[str, Finding]:
    """Each flaky test's chain of runs is sequential; the chains run side by side."""
    flaky = [t for t in tests if t.verdict == FLAKY]
    if not flaky:
        return {}
    pool = ThreadPoolExecutor(max_workers=min(classifier.jobs, len(flaky)))
    try:
        futures = [pool.submit(classifier.classify, t, iterations) for t in flaky]
        return {t.id: f.result() for t, f in zip(flaky, futures, strict=True)}
    except KeyboardInterrupt:
        classifier.stop.set()  # the running pytest processes are killed, not waited for
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def has_repeat() -> bool:
    return importlib.util.find_spec("pytest_repeat") is not None


def non_deterministic(test: TestSummary, options: Sequence[str] = ()) -> Finding:
    """Its own failing seed, repeated until it fails with 99% confidence at the observed rate."""
    return Finding(NON_DETERMINISTIC, repro_failing(test, options, repeat=True))


def repro_failing(test: TestSummary, options: Sequence[str] = (), *, repeat: bool = False) -> str:
    seed = test.failures[0].seed if test.failures else 0
    args = seed_args(seed)
    executed = test.passed + test.failed
    if repeat and test.passed and has_repeat():
        low = wilson(test.failed, executed)[0]
        args.append(f"--count={min(MAX_REPEAT, runs_to_fail(max(low, 1e-3)))}")
    return command([*args, *options, test.id])
