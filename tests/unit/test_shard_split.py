"""The split itself: disjoint, complete, deterministic, balanced; and reading durations."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import testgate.shard as shard
from testgate.checks import GateResult
from testgate.errors import InputError
from testgate.history.record import record_run
from testgate.model import Case, JUnitReport, Outcome
from testgate.read.junit import MAX_SECONDS

IDS = [f"tests/test_m{i % 7}.py::test_{i}" for i in range(40)]


def _check_partition(plan: shard.Plan, ids: list[str]) -> None:
    seen = [n for g in plan.groups for n in g.node_ids]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    position = {n: i for i, n in enumerate(ids)}
    for g in plan.groups:
        assert [position[n] for n in g.node_ids] == sorted(position[n] for n in g.node_ids)


def test_same_inputs_same_groups_and_ties_go_by_node_id() -> None:
    durations = dict.fromkeys(IDS, 1.0)
    first = shard.split(IDS, 4, durations)
    assert first == shard.split(IDS, 4, dict(durations))
    assert [len(g.node_ids) for g in first.groups] == [10, 10, 10, 10]
    assert first.imbalance == 1.0
    by_id = sorted(IDS)
    assert by_id[0] in first.groups[0].node_ids
    assert by_id[1] in first.groups[1].node_ids


def test_slow_tests_spread_and_unknown_tests_get_the_mean() -> None:
    ids = ["a.py::slow1", "a.py::slow2", "a.py::new", *[f"b.py::f{i}" for i in range(6)]]
    durations = {"a.py::slow1": 10.0, "a.py::slow2": 10.0} | {f"b.py::f{i}": 1.0 for i in range(6)}
    durations["gone.py::test_deleted"] = 99.0  # recorded but no longer collected
    plan = shard.split(ids, 2, durations)
    assert plan.known == 8
    assert plan.mean == pytest.approx(26 / 8)
    groups = [set(g.node_ids) for g in plan.groups]
    assert not ({"a.py::slow1", "a.py::slow2"} <= groups[0])
    assert sorted(g.seconds for g in plan.groups) == [
        14.25,
        15.0,
    ]  # the optimum: 10 + 5x1 | 10 + 3.25 + 1


def test_refinement_beats_plain_lpt_on_its_worst_case() -> None:
    # the classic 2-machine case: {3,3,2,2,2} -> LPT 3+2+2 | 3+2 = 7, the optimum 3+3 | 2+2+2
    ids = [f"t.py::t{i}" for i in range(5)]
    durations = dict(zip(ids, [3.0, 3.0, 2.0, 2.0, 2.0], strict=True))
    assert max(len(g) for g in shard._lpt(durations, ids, 2)) == 3
    lpt_max = max(sum(durations[n] for n in g) for g in shard._lpt(durations, ids, 2))
    plan = shard.split(ids, 2, durations)
    assert lpt_max == 7.0
    assert max(g.seconds for g in plan.groups) == 6.0
    assert plan.imbalance == 1.0


def test_refinement_moves_a_test_when_no_swap_helps_and_stops_after_its_rounds() -> None:
    weights = {"a": 5.0, "b": 1.0, "c": 1.0}
    groups = [["a", "b"], ["c"]]
    shard._refine(groups, weights, rounds=1)
    assert groups == [["a"], ["c", "b"]]


def test_no_durations_means_equal_contiguous_counts() -> None:
    plan = shard.split(IDS[:10], 3, {"other.py::x": 5.0})
    assert not plan.balanced
    assert [len(g.node_ids) for g in plan.groups] == [4, 3, 3]
    assert plan.groups[0].node_ids == tuple(IDS[:4])
    assert "none recorded; equal counts" in shard.format_plan(plan)


def test_more_groups_than_tests_leaves_empty_groups() -> None:
    plan = shard.split(IDS[:2], 4, dict.fromkeys(IDS[:2], 0.0))
    assert sorted(len(g.node_ids) for g in plan.groups) == [0, 0, 1, 1]
    assert plan.imbalance == 1.0  # nothing to balance


def test_splits_below_one_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        shard.split(IDS, 0, {})


def test_plan_text_shows_time_per_group_and_imbalance() -> None:
    durations = {IDS[0]: 3.0, IDS[1]: 1.0}
    text = shard.format_plan(shard.split(IDS[:3], 2, durations))
    assert text.splitlines() == [
        "group   tests    expected",
        "    1       1      3.00 s",
        "    2       2      3.00 s",
        "imbalance (max/mean): 1.000",
        "durations: recorded for 2 of 3 tests; 1 estimated at the mean 2.000 s",
    ]
    full = shard.format_plan(shard.split(IDS[:2], 1, durations))
    assert full.endswith("durations: recorded for 2 of 2 tests\n")


def test_manifest_records_the_split_count() -> None:
    plan = shard.split(IDS, 3, dict.fromkeys(IDS, 0.5))
    note = shard.manifest(plan, 2)
    assert note["splits"] == 3
    assert note["group"] == 2
    assert note["tests"] == len(plan.groups[1].node_ids)
    assert note["plan"] == plan.digest == shard.split(IDS[::-1], 3, dict.fromkeys(IDS, 0.5)).digest
    assert plan.digest != shard.split(IDS, 3, {}).digest
    assert note["expected_seconds"] == pytest.approx(plan.groups[1].seconds)
    assert shard.manifest(shard.split(IDS, 3, {}), 1)["expected_seconds"] is None


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4" time="3.5">
<testcase classname="tests.test_a" name="test_x" time="1.25"/>
<testcase classname="tests.test_a.TestK" name="test_y[1-2]" time="0.5"/>
<testcase classname="tests.test_a.TestK" name="test_y[2-2]" time="0.75"/>
<testcase classname="tests.test_a" name="test_z[a b]" time="1.0"><skipped message="no"/></testcase>
</testsuite></testsuites>
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    return tmp_path


def test_junit_durations_sum_repetitions_and_use_pytest_node_ids(tmp_path: Path) -> None:
    root = _project(tmp_path)
    junit = root / "reports" / "junit"
    junit.mkdir(parents=True)
    (junit / "unit.xml").write_text(JUNIT)
    assert shard.default_sources(root / "reports", root) == [junit / "unit.xml"]
    got = shard.read_durations([junit], root=root)
    assert got.seconds == {
        "tests/test_a.py::test_x": 1.25,
        "tests/test_a.py::TestK::test_y": 1.25,
        "tests/test_a.py::test_z[a b]": 1.0,
    }
    assert got.sources == (str(junit / "unit.xml"),)


def test_several_files_average_per_test(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "one.xml").write_text(JUNIT)
    (root / "two.xml").write_text(JUNIT.replace('time="1.25"', 'time="2.25"'))
    split_file = root / ".test_durations"
    split_file.write_text(json.dumps({"tests/test_a.py::test_x": 0.25, "other.py::t": 4}))
    got = shard.read_durations([root / "one.xml", root / "two.xml", split_file], root=root)
    assert got.seconds["tests/test_a.py::test_x"] == pytest.approx((1.25 + 2.25 + 0.25) / 3)
    assert got.seconds["other.py::t"] == 4.0


def test_pytest_split_durations_in_both_of_its_formats(tmp_path: Path) -> None:
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    new.write_text(json.dumps({"a.py::t": 1.5}))
    old.write_text(json.dumps([["a.py::t", 2.5]]))
    assert shard.read_durations([new], root=tmp_path).seconds == {"a.py::t": 1.5}
    assert shard.read_durations([old], root=tmp_path).seconds == {"a.py::t": 2.5}
    assert shard.default_sources(tmp_path / "reports", tmp_path) == []
    (tmp_path / ".test_durations").write_text("{}")
    assert shard.default_sources(tmp_path / "reports", tmp_path) == [tmp_path / ".test_durations"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"a.py::t": "slow"}', "expected {node id: seconds}"),
        ('[["a.py::t"]]', "expected {node id: seconds}"),
        ('{"a.py::t": -1}', "negative, NaN or absurd"),
    ],
)
def test_bad_durations_files_are_one_line_input_errors(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / ".test_durations"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        shard.read_durations([path], root=tmp_path)
    assert str(path) in info.value.message
    assert "\n" not in info.value.message


def test_missing_source_and_empty_folder_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        shard.read_durations([tmp_path / "nope.xml"], root=tmp_path)
    with pytest.raises(InputError, match="no JUnit"):
        shard.read_durations([tmp_path], root=tmp_path)
    (tmp_path / "broken.xml").write_text("<testsuite><testcase")
    with pytest.raises(InputError, match=r"broken\.xml"):
        shard.read_durations([tmp_path / "broken.xml"], root=tmp_path)


def _history(path: Path, runs: list[dict[str, list[float]]]) -> None:
    """Runs recorded the way `testgate gate` records them (repetitions as attempts)."""
    for run in runs:
        cases = tuple(
            Case(node_id=node, name=node, outcome=Outcome.PASSED, duration=s, repetition=i)
            for node, attempts in run.items()
            for i, s in enumerate(attempts, 1)
        )
        report = JUnitReport(path="reports/junit/unit.xml", cases=cases)
        record_run(
            path, result=GateResult(()), reports=[report], coverage=None, root=path.parent, env={}
        )


def test_history_database_gives_mean_seconds_per_run(tmp_path: Path) -> None:
    db = tmp_path / "reports" / "history.sqlite"
    db.parent.mkdir()
    _history(db, [{"a.py::t": [1.0, 1.0], "a.py::u": [3.0]}, {"a.py::t": [4.0]}])
    assert shard.default_sources(tmp_path / "reports", tmp_path) == [db]
    assert shard.read_durations([db], root=tmp_path).seconds == {"a.py::t": 3.0, "a.py::u": 3.0}


def test_history_without_the_tables_is_an_input_error(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    sqlite3.connect(db).close()
    db.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)
    with pytest.raises(InputError, match="cannot read test durations from history"):
        shard.read_durations([db], root=tmp_path)


def test_history_with_absurd_durations_is_refused(tmp_path: Path) -> None:
    """A history edited or corrupted by hand: a negative time would put every other test in
    one group."""
    db = tmp_path / "history.sqlite"
    _history(db, [{"a.py::t": [1.0], "a.py::u": [2.0]}])
    with sqlite3.connect(db) as con:
        con.execute("UPDATE results SET duration = -5")
    con.close()
    with pytest.raises(InputError) as caught:
        shard.read_durations([db], root=tmp_path)
    assert caught.value.message == (
        f"{db}: negative, NaN or absurd durations (over {MAX_SECONDS:g} s)"
    )
