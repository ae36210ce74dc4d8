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
