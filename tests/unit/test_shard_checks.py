"""inputs.shards: a lost shard fails the gate instead of shrinking the suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testgate.checks import Status
from testgate.checks.shards import check_shards
from testgate.gate import check_junit_dir
from testgate.read.shards import recorded_splits


def test_nothing_sharded_is_no_check() -> None:
    assert check_shards(["unit.xml", "integration.xml", "notes.txt"]) is None


def test_all_shards_present_passes() -> None:
    result = check_shards(
        ["unit-1.xml", "unit-2.xml", "unit-3.xml", "integration.xml"], splits={"unit": [3]}
    )
    assert result is not None
    assert result.status is Status.PASS
    assert result.id == "inputs.shards"
    assert (result.actual, result.limit) == (3, 3)
    assert result.message == "all 3 'unit' shards reported"


def test_shards_of_sessions_per_python_version_are_told_apart() -> None:
    """nox writes `unit-py3.12-2.xml` for shard 2 of unit on 3.12 (python=[...] sessions)."""
    names = ["unit-py3.10.xml", "unit-py3.11-1.xml", "unit-py3.11-2.xml", "unit-py3.12-1.xml"]
    result = check_shards(names, splits={"unit-py3.11": [2], "unit-py3.12": [2]})
    assert result is not None
    assert result.status is Status.FAIL
    assert result.message == "1 of 2 'unit-py3.12' shards missing: unit-py3.12-2.xml"
    names.append("unit-py3.12-2.xml")
    result = check_shards(names, splits={"unit-py3.11": [2], "unit-py3.12": [2]})
    assert result is not None
    assert result.status is Status.PASS
    names.append("unit-py3.10-1.xml")  # a shard of 3.10 nobody said was sharded
    result = check_shards(names, splits={"unit-py3.11": [2], "unit-py3.12": [2]})
    assert result is not None
    assert result.status is Status.FAIL
    assert result.message.startswith("unit-py3.10-K.xml shards (1) but no record")


def test_a_missing_shard_fails_and_names_the_file() -> None:
    result = check_shards(["unit-1.xml", "unit-3.xml"], splits={"unit": {3}})
    assert result is not None
    assert result.status is Status.FAIL
    assert result.message == "1 of 3 'unit' shards missing: unit-2.xml"
    assert (result.actual, result.limit) == (2, 3)


def test_the_expected_count_can_come_from_configuration() -> None:
    result = check_shards(["unit-1.xml"], expected={"unit": 2})
    assert result is not None
    assert result.status is Status.FAIL
    assert "unit-2.xml" in result.message
    lost_everything = check_shards([], expected={"unit": 2})
    assert lost_everything is not None
    assert lost_everything.message == "2 of 2 'unit' shards missing: unit-1.xml, unit-2.xml"


@pytest.mark.parametrize(
    ("names", "splits", "message"),
    [
        (["unit-1.xml", "unit-2.xml"], {}, "no record of how many were expected"),
        (["unit-1.xml", "unit-2.xml"], {"unit": {2, 3}}, "disagree on the split count (2, 3)"),
        (["unit-1.xml", "unit-2.xml", "unit-4.xml"], {"unit": {2}}, "4 are beyond --splits 2"),
        (["unit.xml", "unit-1.xml"], {"unit": {1}}, "both unit.xml and unit-K.xml"),
    ],
)
def test_mixed_or_unaccounted_reports_fail(
    names: list[str], splits: dict[str, set[int]], message: str
) -> None:
    result = check_shards(names, splits=splits)
    assert result is not None
    assert result.status is Status.FAIL
    assert message in result.message


def test_every_problem_is_listed_in_the_details() -> None:
    result = check_shards(
        ["unit-1.xml", "integration-2.xml", "e2e-1.xml"],
        splits={"unit": {2}, "integration": {2}, "e2e": {1}},
    )
    assert result is not None
    assert result.message.endswith("(and 1 more)")
    assert result.details == (
        "1 of 2 'integration' shards missing: integration-1.xml",
        "1 of 2 'unit' shards missing: unit-2.xml",
        "all 1 'e2e' shards reported",
    )


def test_manifests_in_the_junit_folder_give_the_count(tmp_path: Path) -> None:
    junit = tmp_path / "junit"
    junit.mkdir()
    for k in (1, 2):
        (junit / f"unit-{k}.xml").write_text("<testsuite/>")
        (junit / f"unit-{k}.json").write_text(json.dumps({"splits": 3, "group": k}))
    (junit / "unit-3.json").write_text("{truncated")
    (junit / "unit-4.json").write_text("[]")
    (junit / "other-1.json").write_text(json.dumps({"splits": True}))
    (junit / "gate.json").write_text("{}")
    (junit / "unit-notes.json").write_text(json.dumps({"splits": 9}))
    assert recorded_splits(junit) == {"unit": {3}}
    result = check_junit_dir(junit)
    assert result is not None
    assert result.message == "1 of 3 'unit' shards missing: unit-3.xml"
    assert check_junit_dir(tmp_path / "absent") is None


def test_shards_split_differently_fail(tmp_path: Path) -> None:
    junit = tmp_path / "junit"
    junit.mkdir()
    for k, digest in ((1, "aaa"), (2, "bbb")):
        (junit / f"unit-{k}.xml").write_text("<testsuite/>")
        (junit / f"unit-{k}.json").write_text(json.dumps({"splits": 2, "plan": digest}))
    result = check_junit_dir(junit)
    assert result is not None
    assert result.status is Status.FAIL
    assert "split differently" in result.message
    (junit / "unit-2.json").write_text(json.dumps({"splits": 2, "plan": "aaa"}))
    same = check_junit_dir(junit)
    assert same is not None
    assert same.status is Status.PASS
