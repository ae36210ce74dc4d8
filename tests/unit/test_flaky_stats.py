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


# --- the chance bound of causal claims -----------------------------------------------------

from fractions import Fraction  # noqa: E402 - grouped with the tests that use it

from testgate.flaky.stats import (  # noqa: E402
    ATTEMPTS,
    balanced_plan,
    chance,
    fails_at_least_once,
    plan_claim,
    spend,
    still_needed,
)


def exact_chance(passes: int, failures: int) -> Fraction:
    """max_p (1-p)^n p^k = n^n k^k / (n+k)^(n+k), in exact rationals."""
    n, k = passes, failures
    return Fraction(n**n * k**k, (n + k) ** (n + k))


@pytest.mark.parametrize(("n", "k"), [(1, 1), (4, 4), (5, 5), (4, 5), (3, 7), (20, 1), (9, 2)])
def test_chance_is_the_exact_binomial_maximum(n: int, k: int) -> None:
    assert chance(n, k) == pytest.approx(float(exact_chance(n, k)), rel=1e-12)
    # and no failure rate on a fine grid explains the evidence better
    grid = max((1 - i / 1000) ** n * (i / 1000) ** k for i in range(1001))
    assert grid <= chance(n, k) * (1 + 1e-12)


def test_chance_of_the_issue_example() -> None:
    assert chance(4, 4) == pytest.approx(2**-8)  # 4 + 4 runs: 0.4%
    assert chance(0, 9) == chance(7, 0) == 1.0  # one kind of evidence explains nothing
    assert chance(3, 5) == chance(5, 3)
    with pytest.raises(ValueError, match="negative"):
        chance(-1, 2)


def test_spend_splits_alpha_over_every_attempt() -> None:
    assert spend(0.01) * ATTEMPTS == pytest.approx(0.01)
    with pytest.raises(ValueError, match="alpha"):
        spend(1.0)


def test_still_needed_and_balanced_plan_are_the_fewest_runs() -> None:
    assert still_needed(0.01, 4, 4, more="failures") == 0
    k = still_needed(0.001, 5, 1, more="failures")
    assert chance(5, 1 + k) <= 0.001 < chance(5, k)
    n = still_needed(0.001, 0, 3, more="passes")
    assert chance(n, 3) <= 0.001 < chance(n - 1, 3)
    assert balanced_plan(0.01, 0, 0) == (4, 3) or balanced_plan(0.01, 0, 0) == (3, 4)
    a, b = balanced_plan(0.0025, 1, 1)
    assert chance(1 + a, 1 + b) <= 0.0025
    assert all(
        chance(1 + x, 1 + (a + b - 1 - x)) > 0.0025 for x in range(a + b)
    )  # one run fewer never does
    with pytest.raises(ValueError, match="more must be"):
        still_needed(0.01, 1, 1, more="both")


@pytest.mark.parametrize(
    ("alpha", "victim", "brittle"), [(0.01, (4, 5), (5, 4)), (0.001, (6, 6), (6, 6))]
)
def test_plan_claim(alpha: float, victim: tuple[int, int], brittle: tuple[int, int]) -> None:
    assert plan_claim(alpha) == victim
    assert plan_claim(alpha, fails_alone=True) == brittle
    # the seeded replay is not counted: alone and context runs alone meet the bound
    for fails_alone in (False, True):
        alone, k = plan_claim(alpha, fails_alone=fails_alone)
        assert chance(alone, k) <= spend(alpha)
    alone, k = plan_claim(alpha, alone=10)  # more runs alone: fewer in context
    assert alone == 10
    assert chance(alone, k) <= spend(alpha) < chance(alone, k - 1)
    alone, k = plan_claim(alpha, alone=10, fails_alone=True)
    assert chance(k, alone) <= spend(alpha) < chance(k - 1, alone)


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.001])
def test_the_whole_procedure_claims_a_coin_flip_with_probability_at_most_alpha(
    alpha: float,
) -> None:
    """Exact, under the null, for every failure rate p: a merely non-deterministic test gets a
    causal claim only along the one run sequence that makes it, whatever order the looks came
    in: a failing replay (certain, for the worst case of a test driven by `random`, which the
    replay's seed makes fail again), then either
    - passes alone (`alone` runs), then a culprit pair failing k runs, or else the whole order
      failing k runs (victim side); or
    - fails alone, then a setter pair passing k runs, or else the whole order (brittle side).
    """
    alone, k = plan_claim(alpha)
    alone_b, k_b = plan_claim(alpha, fails_alone=True)
    worst = Fraction(0)
    for i in range(1, 1000, 3):
        p = Fraction(i, 1000)
        q = 1 - p
        victim = q**alone * (p**k + (1 - p**k) * p**k)
        brittle = p**alone_b * (q**k_b + (1 - q**k_b) * q**k_b)
        worst = max(worst, victim + brittle)
    assert worst <= alpha


def test_fails_at_least_once() -> None:
    assert fails_at_least_once(0.5, 3) == 0.875
    assert fails_at_least_once(0.01, runs_to_fail(0.01)) >= 0.99
    with pytest.raises(ValueError, match="rate"):
        fails_at_least_once(1.5, 3)
    with pytest.raises(ValueError, match="runs"):
        fails_at_least_once(0.5, 0)
