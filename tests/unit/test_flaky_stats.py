from __future__ import annotations

import math

import pytest

from testgate.flaky.stats import clean_upper_bound, plan, runs_to_fail, wilson


def test_wilson_matches_the_interface_example() -> None:
    low, high = wilson(4, 10)
    assert (round(low, 2), round(high, 2)) == (0.17, 0.69)


@pytest.mark.parametrize(("failures", "runs"), [(0, 1), (0, 10), (10, 10), (1, 3), (50, 100)])
def test_wilson_stays_in_bounds_and_contains_the_rate(failures: int, runs: int) -> None:
    low, high = wilson(failures, runs)
    assert 0.0 <= low <= failures / runs <= high <= 1.0


def test_wilson_of_no_failures_starts_at_zero() -> None:
    assert wilson(0, 10)[0] == 0.0
    assert wilson(10, 10)[1] == 1.0


@pytest.mark.parametrize(("failures", "runs"), [(0, 0), (-1, 3), (4, 3)])
def test_wilson_rejects_impossible_counts(failures: int, runs: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        wilson(failures, runs)


def test_plan_prints_the_documented_299() -> None:
    assert plan(0.01, 0.95) == 299
    assert plan(0.5, 0.75) == 2  # exactly 2.0 in theory; float noise must not round it up
    assert plan(0.9, 0.5) == 1


def test_clean_upper_bound_is_the_inverse_of_plan() -> None:
    n = plan(0.01, 0.95)
    assert clean_upper_bound(n) < 0.01 < clean_upper_bound(n - 1)
    assert math.isclose(clean_upper_bound(10), 1 - 0.05**0.1)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 2.0])
def test_plan_rejects_probabilities_outside_0_1(bad: float) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        plan(bad, 0.95)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        plan(0.01, bad)


def test_clean_upper_bound_needs_runs() -> None:
    with pytest.raises(ValueError, match="runs must be positive"):
        clean_upper_bound(0)


def test_runs_to_fail() -> None:
    assert runs_to_fail(1.0) == 1
    assert runs_to_fail(0.5) == 7  # 1 - 0.5**7 >= 0.99
    assert 1 - (1 - 0.1) ** runs_to_fail(0.1) >= 0.99
