"""How sure a handful of runs can make us: Wilson intervals, clean-run bounds, run plans."""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(failures: int, runs: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a failure rate; unlike p +- z*se it stays inside [0, 1]."""
    if runs <= 0:
        raise ValueError("runs must be positive")
    if not 0 <= failures <= runs:
        raise ValueError("failures must be between 0 and runs")
    p = failures / runs
    z2 = z * z
    denom = 1 + z2 / runs
    centre = (p + z2 / (2 * runs)) / denom
    half = z * math.sqrt(p * (1 - p) / runs + z2 / (4 * runs * runs)) / denom
    low = 0.0 if failures == 0 else max(0.0, centre - half)
    high = 1.0 if failures == runs else min(1.0, centre + half)
    return low, high


def clean_upper_bound(runs: int, confidence: float = 0.95) -> float:
    """The flake rate `runs` clean runs rule out at `confidence`: 1 - (1 - c)^(1/n).

    The exact one-sided bound, the inverse of `plan`, so the two always agree.
    """
    if runs <= 0:
        raise ValueError("runs must be positive")
    _check_probability("confidence", confidence)
    return 1.0 - float((1.0 - confidence) ** (1.0 / runs))


def plan(rate: float, confidence: float) -> int:
    """Clean runs needed to show a flake rate below `rate` at `confidence` (0.01, 0.95 -> 299)."""
    _check_probability("rate", rate)
    _check_probability("confidence", confidence)
    exact = math.log(1.0 - confidence) / math.log(1.0 - rate)
    return max(1, math.ceil(exact - 1e-9))


def runs_to_fail(rate: float, confidence: float = 0.99) -> int:
    """Repeats after which a test failing with `rate` has failed at least once at `confidence`."""
    if rate >= 1.0:
        return 1
    return plan(rate, confidence)


def _check_probability(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")


# --- How far chance explains a causal claim -------------------------------------------------
#
# The null hypothesis of every claim the hunt makes ("victim of P", "brittle, needs S",
# "order-dependent") is "merely non-deterministic": each run of the test, whatever ran before
# it, fails independently with one unknown rate p. A claim predicts an outcome for every trial
# it rests on (passes alone, fails after P, ...), and classification makes it only when every
# one of those trials went as predicted. Under the null, `passes` trials predicted to pass and
# `failures` predicted to fail all go that way with probability (1-p)^passes * p^failures, so
# the largest value over every p, `chance(passes, failures)`, bounds the probability that
# chance alone produced the evidence: 2^-(n+k) at n = k.
#
# Sequential looks do not inflate it. The classifier stops a claim at the first trial that goes
# against it, and the trial it runs next depends only on the trials so far; so of all outcome
# sequences exactly one leads to a given claim (bisection only chooses *which* claim is tested,
# and its runs are not counted as evidence: summed over the candidates it could pick, their
# probabilities add up to 1). The error of a claim is therefore the probability of that one
# sequence, at most `chance(...)` of it, however often the classifier looked. A test can reach
# at most `ATTEMPTS` claims (a culprit or, failing that, the whole order; on the "passes alone"
# or the "fails alone" side), and each gets alpha / ATTEMPTS (`spend`), so by the union bound
# a non-deterministic test gets any causal claim with probability <= alpha.

ATTEMPTS = 4


def chance(passes: int, failures: int) -> float:
    """max over p of (1-p)^passes * p^failures, the maximum at p = failures / (passes + failures).

    Computed in logarithms, exact to rounding for any number of runs.
    """
    if passes < 0 or failures < 0:
        raise ValueError("passes and failures must not be negative")
    if passes == 0 or failures == 0:
        return 1.0
    n = passes + failures
    return math.exp(passes * math.log(passes / n) + failures * math.log(failures / n))


def spend(alpha: float) -> float:
    """The share of alpha one claim attempt may use (a fixed split, see the module notes)."""
    _check_probability("alpha", alpha)
    return alpha / ATTEMPTS


def still_needed(alpha: float, passes: int, failures: int, *, more: str) -> int:
    """How many more consistent trials of one kind (`more`: "passes" or "failures") bring
    `chance` to at most alpha; 0 when it already is."""
    _check_probability("alpha", alpha)
    if more not in ("passes", "failures"):
        raise ValueError("more must be 'passes' or 'failures'")
    extra = 0
    while True:
        p, f = (passes + extra, failures) if more == "passes" else (passes, failures + extra)
        if chance(p, f) <= alpha:
            return extra
        extra += 1


def balanced_plan(alpha: float, passes: int, failures: int) -> tuple[int, int]:
    """The fewest more (passes, failures) that bring `chance` to at most alpha.

    Of the plans with the fewest runs, the one closest to even: both kinds of trial are needed,
    and an even split is what makes the bound smallest for the runs spent.
    """
    _check_probability("alpha", alpha)
    total = 0
    while True:
        fits = [
            (a, total - a)
            for a in range(total + 1)
            if chance(passes + a, failures + total - a) <= alpha
        ]
        if fits:
            return min(fits, key=lambda ab: abs(passes + ab[0] - failures - ab[1]))
        total += 1


def plan_claim(alpha: float, alone: int = 1, *, fails_alone: bool = False) -> tuple[int, int]:
    """(runs alone, runs in context) for one claim attempt that began with a failing replay and
    one run alone: at least `alone` runs alone, then the fewest runs in context that meet
    `spend(alpha)`. With the default `alone`, the fewest runs in all, split evenly.

    The replay is not evidence: it reruns the failing iteration with its seed, and a test whose
    randomness comes from `random` (which pytest-randomly reseeds from that seed) fails on it
    for certain. Only the runs alone and in context, none of them seeded, are counted.
    """
    budget = spend(alpha)
    if fails_alone:
        _, more = balanced_plan(budget, 0, 1)
        alone = max(alone, 1 + more)
        return alone, still_needed(budget, 0, alone, more="passes")
    more, _ = balanced_plan(budget, 1, 0)
    alone = max(alone, 1 + more)
    return alone, still_needed(budget, alone, 0, more="failures")


def fails_at_least_once(rate: float, runs: int) -> float:
    """The probability that `runs` independent runs failing with `rate` fail at least once."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError("rate must be between 0 and 1")
    if runs <= 0:
        raise ValueError("runs must be positive")
    return 1.0 - (1.0 - rate) ** runs
