from __future__ import annotations

from typing import Any

import pytest

from testgate.flaky.aggregate import Iteration, aggregate
from testgate.flaky.report import until_line
from testgate.flaky.runner import Record
from testgate.flaky.slices import parse_slice
from testgate.flaky.stats import plan
from testgate.flaky.until import Until, settled_prefix, unsettled
from testgate.model import Outcome

P, F, S = Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED


def iteration(n: int, *records: tuple[str, Outcome]) -> Iteration:
    return Iteration(
        n, n, "completed", 0, f"run-{n}.xml", 1.0, tuple(Record(i, o) for i, o in records), ()
    )


def test_a_clean_test_settles_after_the_runs_plan_names() -> None:
    until = Until(0.5, 0.9)
    assert until.needed == plan(0.5, 0.9) == 4
    assert not until.settled(3, 0)
    assert until.settled(4, 0)
    assert until.settled(0, 4)  # never passed: its pass rate is bounded the same way
    assert until.settled(1, 1)  # flaked
    assert until.settled(0, 0)  # only skipped
    assert Until(0.01, 0.95).settled(299, 0)
    assert not Until(0.01, 0.95).settled(298, 0)


def test_the_prefix_is_the_first_one_in_which_every_test_settled() -> None:
    until = Until(0.5, 0.9)
    its = [
        iteration(n, ("a::ok", P), ("a::skip", S), ("a::flip", F if n == 2 else P))
        for n in range(1, 7)
    ]
    assert settled_prefix(its, until) == 4
    assert settled_prefix(reversed(its), until) == 4  # finishing order does not matter
    assert settled_prefix([its[0], *its[2:]], until) is None  # a gap: 2 has not finished yet
    assert settled_prefix(its[:3], until) is None
    assert settled_prefix([], until) is None
    tests = aggregate(its[:3])
    assert unsettled(tests, until) == ["a::ok"]


def test_the_report_line_says_how_the_hunt_ended() -> None:
    early: dict[str, Any] = {
        "count": 4,
        "until": {
            "rate": 0.5,
            "confidence": 0.9,
            "max_count": 10,
            "stopped": "early",
            "settled": True,
            "unsettled": [],
        },
    }
    assert until_line(early) == (
        "stopped early after 4 of at most 10 runs: every test flaked or shows a flake rate "
        "below 50.0% at 90.0% confidence"
    )
    ids = [f"t{i}" for i in range(7)]
    late = {
        "count": 3,
        "until": {
            **early["until"],
            "stopped": "count",
            "settled": False,
            "unsettled": ids,
            "max_count": 3,
        },
    }
    line = until_line(late)
    assert line.startswith("reached --count 3 before every test flaked")
    assert "7 not settled (t0, t1, t2, t3, t4 and 2 more)" in line
    assert line.endswith("takes 4 clean runs")
    done = {"count": 4, "until": {**early["until"], "stopped": "count", "max_count": 4}}
    assert until_line(done).startswith("reached --count 4: every test")


def test_slice_syntax() -> None:
    assert parse_slice("2/3") == (2, 3)


@pytest.mark.parametrize("bad", ["0/3", "4/3", "2", "a/b", "2/"])
def test_slice_syntax_errors(bad: str) -> None:
    with pytest.raises(ValueError, match="K/M"):
        parse_slice(bad)
