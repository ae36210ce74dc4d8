from __future__ import annotations

import pytest

from testgate.errors import InputError
from testgate.flaky.aggregate import Iteration, aggregate
from testgate.flaky.report import until_line
from testgate.flaky.runner import Record
from testgate.flaky.slices import parse_slice
from testgate.flaky.stats import plan
from testgate.flaky.until import Until, settled_prefix, unsettled
from testgate.model import Outcome
from testgate.model.flaky import FlakyMeta, FlakyReport, UntilMeta

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
    early = UntilMeta(0.5, 0.9, 10, "early", True)
    assert until_line(FlakyMeta(count=4, until=early)) == (
        "stopped early after 4 of at most 10 runs: every test flaked or shows a flake rate "
        "below 50.0% at 90.0% confidence"
    )
    ids = tuple(f"t{i}" for i in range(7))
    late = UntilMeta(0.5, 0.9, 3, "count", False, ids)
    line = until_line(FlakyMeta(count=3, until=late))
    assert line.startswith("reached --count 3 before every test flaked")
    assert "7 not settled (t0, t1, t2, t3, t4 and 2 more)" in line
    assert line.endswith("takes 4 clean runs")
    done = UntilMeta(0.5, 0.9, 4, "count", True)
    assert until_line(FlakyMeta(count=4, until=done)).startswith("reached --count 4: every test")
    assert until_line(FlakyMeta(count=4)) == ""
    meta = FlakyMeta(count=3, until=late, slices=2)
    assert FlakyReport.from_json({"meta": meta.to_json(), "runs": [], "tests": []}).meta == meta


def test_a_broken_until_record_is_a_one_line_error() -> None:
    meta = FlakyMeta(count=3, until=UntilMeta(0.5, 0.9, 3, "count", True)).to_json()
    meta["until"]["stopped"] = "late"
    with pytest.raises(InputError, match="'late' is not 'early' or 'count'"):
        FlakyReport.from_json({"meta": meta, "runs": [], "tests": []})


def test_slice_syntax() -> None:
    assert parse_slice("2/3") == (2, 3)


@pytest.mark.parametrize("bad", ["0/3", "4/3", "2", "a/b", "2/"])
def test_slice_syntax_errors(bad: str) -> None:
    with pytest.raises(ValueError, match="K/M"):
        parse_slice(bad)
