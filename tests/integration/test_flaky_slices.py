"""A hunt in M slices, combined, is the hunt one machine runs: same seeds, orders and counts."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from git_repo import git
from test_flaky_hunt import hunt, make_project, run_printed

from testgate.cli import main
from testgate.flaky.aggregate import Iteration, aggregate
from testgate.flaky.hunt import derive_seed
from testgate.flaky.until import Until, settled_prefix

# Deterministic given the order: the victim fails exactly when the polluter ran first, so one
# seed gives one outcome per test and the combined counts must equal one machine's.
ORDERED = {
    "tests/__init__.py": "",
    "tests/state.py": "STATE = {'polluted': False}\n",
    "tests/test_victim.py": """
        from tests.state import STATE

        def test_victim():
            assert not STATE["polluted"]

        def test_plain():
            assert True
        """,
    "tests/test_polluter.py": """
        import pytest
        from tests.state import STATE

        def test_polluter():
            STATE["polluted"] = True

        @pytest.mark.parametrize("x", range(4))
        def test_many(x):
            assert x >= 0

        def test_broken():
            assert False
        """,
}
COUNT, SEED, SLICES = 7, 11, 3


def _project(root: Path) -> Path:
    make_project(root, ORDERED)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project")
    return root


def _runs(reports: Path) -> dict[int, dict[str, Any]]:
    found = {}
    for path in sorted((reports / "flaky").glob("run-*.json")):
        record = json.loads(path.read_text())
        found[record["iteration"]] = record
    return found


def _counts(report: dict[str, Any]) -> dict[str, tuple[int, int, int, str]]:
    return {t["id"]: (t["runs"], t["passed"], t["failed"], t["verdict"]) for t in report["tests"]}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("sliced"))


@pytest.fixture(scope="module")
def whole(project: Path) -> Any:
    args = ("--count", str(COUNT), "--seed", str(SEED), "--jobs", "2", "--", "tests")
    return hunt(project, *args, reports=project / "one")


@pytest.fixture(scope="module")
def combined(project: Path) -> Any:
    for k in range(1, SLICES + 1):
        part = hunt_slice(project, k)
        assert part.code == 0, part.err
        assert f"slice {k}/{SLICES} of a {COUNT}-iteration hunt" in part.out
    folders = [str(project / f"slice-{k}") for k in range(1, SLICES + 1)]
    return hunt(project, "--combine", *folders, "--jobs", "2", reports=project / "all")


class _Slice:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def hunt_slice(project: Path, k: int) -> _Slice:
    """A slice writes no flaky.json (it is not a hunt), so `hunt()` cannot read one back."""
    argv = ["flaky", "--reports", str(project / f"slice-{k}"), "--count", str(COUNT)]
    argv += ["--seed", str(SEED), "--slice", f"{k}/{SLICES}", "--jobs", "2", "--", "tests"]
    out, err = project / f"slice-{k}.out", project / f"slice-{k}.err"
    with pytest.MonkeyPatch.context() as mp, out.open("w") as o, err.open("w") as e:
        mp.chdir(project)
        mp.setattr(sys, "stdout", o)
        mp.setattr(sys, "stderr", e)
        code = main(argv)
    return _Slice(code, out.read_text(), err.read_text())


def test_each_slice_ran_its_share_of_the_plan(project: Path, combined: Any) -> None:
    del combined
    for k in range(1, SLICES + 1):
        folder = project / f"slice-{k}"
        manifest = json.loads((folder / "flaky" / "slice.json").read_text())
        planned = list(range(k, COUNT + 1, SLICES))
        assert manifest["iterations"] == manifest["finished"] == planned
        assert manifest["complete"] is True
        assert manifest["args"]["seed"] == SEED
        assert manifest["commit"] == git(project, "rev-parse", "HEAD").strip()
        assert manifest["environment"]["pytest"]
        assert sorted(_runs(folder)) == planned
        assert not (folder / "flaky.json").exists()  # a slice is not a hunt


def test_combined_slices_equal_one_machine(project: Path, whole: Any, combined: Any) -> None:
    one, many = _runs(project / "one"), _runs(project / "all")
    assert sorted(one) == sorted(many) == list(range(1, COUNT + 1))
    for i in one:
        assert one[i]["seed"] == many[i]["seed"] == derive_seed(SEED, i)
        assert one[i]["order"] == many[i]["order"]  # the same seed ran the same order
        assert [r[:2] for r in one[i]["records"]] == [r[:2] for r in many[i]["records"]]
        assert many[i]["junit"] == f"all/flaky/run-{i:02d}.xml"
        assert (project / many[i]["junit"]).is_file()
    assert _counts(whole.report) == _counts(combined.report)
    assert [r["seed"] for r in whole.report["runs"]] == [r["seed"] for r in combined.report["runs"]]
    assert combined.report["meta"]["slices"] == SLICES
    assert combined.report["meta"]["complete"] is True
    assert (combined.report["meta"]["count"], combined.report["meta"]["seed"]) == (COUNT, SEED)
    victim = combined.tests["tests/test_victim.py::test_victim"]
    assert whole.code == combined.code == 1
    assert victim["verdict"] == "flaky"  # order-dependent: flaky across the seeds' orders
    assert victim["kind"] == whole.tests[victim["id"]]["kind"] == "order-dependent"
    assert victim["polluter"] == "tests/test_polluter.py::test_polluter"
    assert run_printed(victim["repro"], project).returncode == 1
    assert "Combined from 3 slices" in (project / "all" / "flaky.md").read_text()


def _combine_error(project: Path, *folders: Path, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        code = main(["flaky", "--reports", str(project / "bad"), "--combine", *map(str, folders)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    return err


def test_combine_refuses_missing_and_mismatched_slices(
    project: Path, combined: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    del combined
    s1, s2, s3 = (project / f"slice-{k}" for k in (1, 2, 3))
    err = _combine_error(project, s1, s3, capsys=capsys)
    assert "1 of 3 slices missing: 2/3" in err
    assert "slice 2/3 and" not in err

    twice = _combine_error(project, s1, s2, s2, capsys=capsys)
    assert "are both slice 2/3" in twice

    forged = tmp_path / "forged"
    shutil.copytree(s3, forged)
    manifest = forged / "flaky" / "slice.json"
    data = json.loads(manifest.read_text())
    data["args"]["seed"] = SEED + 1
    manifest.write_text(json.dumps(data))
    assert "hunt arguments" in _combine_error(project, s1, s2, forged, capsys=capsys)

    data["args"]["seed"] = SEED
    data["environment"]["pytest"] = "0.0.1"
    manifest.write_text(json.dumps(data))
    assert "tool versions" in _combine_error(project, s1, s2, forged, capsys=capsys)

    data["environment"] = json.loads((s1 / "flaky" / "slice.json").read_text())["environment"]
    data["commit"] = "0" * 40
    manifest.write_text(json.dumps(data))
    assert "commit" in _combine_error(project, s1, s2, forged, capsys=capsys)

    data["commit"] = json.loads((s1 / "flaky" / "slice.json").read_text())["commit"]
    # one slice agrees with itself, but not with this checkout or these tools
    alone = tmp_path / "alone"
    shutil.copytree(s1, alone)
    own = json.loads((alone / "flaky" / "slice.json").read_text())
    (alone / "flaky" / "slice.json").write_text(json.dumps({**own, "commit": "1" * 40}))
    assert f"the slices ran at commit {'1' * 40} but" in _combine_error(
        project, alone, capsys=capsys
    )
    other_tools = {**own["environment"], "pytest": "0.0.1"}
    (alone / "flaky" / "slice.json").write_text(json.dumps({**own, "environment": other_tools}))
    err = _combine_error(project, alone, capsys=capsys)
    assert "the slices ran with tool versions" in err
    assert "combine where the slices ran" in err

    data["finished"] = data["finished"][:1]
    data["complete"] = False
    manifest.write_text(json.dumps(data))
    assert "slice 3/3 is incomplete (1 of 2 iterations)" in _combine_error(
        project, s1, s2, forged, capsys=capsys
    )
    assert "no flake-hunt slice here" in _combine_error(project, s1, tmp_path, capsys=capsys)

    data["finished"], data["complete"] = data["iterations"], True
    manifest.write_text(json.dumps(data))
    record = (forged / "flaky" / "run-03.json").read_text()
    (forged / "flaky" / "run-03.json").write_text('{"iteration": 3')  # cut short
    err = _combine_error(project, s1, s2, forged, capsys=capsys)
    assert "run-03.json: not valid JSON" in err
    assert "iteration 3 of slice 3: run that slice again" in err

    # an artifact's run log that points out of the slice is never copied into the reports
    (forged / "flaky" / "run-03.json").write_text(record)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the reports")
    log = forged / "flaky" / "run-03.log"
    log.unlink(missing_ok=True)
    log.symlink_to(secret)
    err = _combine_error(project, s1, s2, forged, capsys=capsys)
    assert "run-03.log: outside the project; refused" in err
    assert not (project / "bad" / "flaky" / "run-03.log").exists()


def test_slice_usage_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["--slice", "2/3", "--count", "5"], "--slice needs --seed"),
        (["--slice", "4/3"], "is not K/M with 1 <= K <= M"),
        (["--slice", "3/4", "--count", "2", "--seed", "1"], "has no iterations of --count 2"),
        (
            ["--slice", "1/2", "--seed", "1", "--until", "0.1", "0.9"],
            "--until cannot run on a slice",
        ),
        (["--combine", "x", "--seed", "3"], "--combine takes the hunt's settings"),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        for argv, message in cases:
            code = main(["flaky", "--reports", str(project / "bad"), *argv])
            err = capsys.readouterr().err
            assert code == 2, (argv, err)
            assert message in err, (argv, err)


def test_until_stops_at_the_first_settled_prefix_of_the_same_plan(
    project: Path, whole: Any
) -> None:
    del whole  # the one-machine hunt whose iterations are read back here
    one = [Iteration.from_json(r) for r in _runs(project / "one").values()]
    expected = settled_prefix(one, Until(0.5, 0.9))
    assert expected is not None
    assert 4 <= expected < COUNT  # 4 clean runs settle a clean test (plan 0.5 0.9)
    args = ("--count", str(COUNT), "--seed", str(SEED), "--jobs", "2", "--until", "0.5", "0.9")
    adaptive = hunt(project, *args, "--", "tests", reports=project / "until")
    meta = adaptive.report["meta"]
    assert meta["count"] == len(adaptive.report["runs"]) == expected
    assert meta["complete"] is True
    assert meta["until"] == {
        "rate": 0.5,
        "confidence": 0.9,
        "max_count": COUNT,
        "stopped": "early",
        "settled": True,
        "unsettled": [],
    }
    assert sorted(_runs(project / "until")) == list(range(1, expected + 1))
    line = f"stopped early after {expected} of at most {COUNT} runs"
    assert line in adaptive.out
    assert line in (project / "until" / "flaky.md").read_text()
    prefix = {t.id: (t.runs, t.passed, t.failed) for t in aggregate(one[:expected])}
    assert {i: (t["runs"], t["passed"], t["failed"]) for i, t in adaptive.tests.items()} == prefix


def test_until_says_when_count_came_first(project: Path) -> None:
    args = ("--count", "2", "--seed", str(SEED), "--until", "0.01", "0.95", "--no-classify")
    short = hunt(project, *args, "--", "tests", reports=project / "short")
    until = short.report["meta"]["until"]
    assert (until["stopped"], until["settled"]) == ("count", False)
    assert "tests/test_victim.py::test_plain" in until["unsettled"]
    assert "reached --count 2 before every test flaked" in short.out
    assert "takes 299 clean runs" in short.out
