"""`testgate flaky --new`: a change's new tests burned in, the flaky one caught and explained."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from git_repo import git
from test_flaky_hunt import make_project, run_printed

from testgate import config as config_mod
from testgate.cli import main
from testgate.gate import evaluate

BASE = {
    "tests/__init__.py": "",
    "tests/state.py": "STATE = {'polluted': False}\n",
    "tests/test_old.py": "def test_a():\n    assert True\n\n\ndef test_b():\n    assert True\n",
}
# New on the branch: an order-dependent victim (deterministic for one seed), its polluter,
# and a test slow enough (over 5 s) to be repeated 5 times instead of 10.
NEW = {
    "tests/test_new.py": """
        from tests.state import STATE

        def test_new_polluter():
            STATE["polluted"] = True

        def test_new_victim():
            assert not STATE["polluted"]

        def test_new_fine():
            assert True
        """,
    "tests/test_slow.py": "import time\n\n\ndef test_slow():\n    time.sleep(5.2)\n",
}
NEW_IDS = [
    "tests/test_new.py::test_new_polluter",
    "tests/test_new.py::test_new_victim",
    "tests/test_new.py::test_new_fine",
    "tests/test_slow.py::test_slow",
]


class Result:
    def __init__(self, root: Path, code: int, out: str) -> None:
        self.root, self.code, self.out = root, code, out
        self.report: dict[str, Any] = json.loads((root / "reports/flaky-new.json").read_text())
        self.tests = {t["id"]: t for t in self.report["tests"]}


def burn_in(root: Path, *args: str) -> Result:
    out = root / "burn.out"
    with pytest.MonkeyPatch.context() as mp, out.open("w") as handle:
        mp.chdir(root)
        mp.setattr(sys, "stdout", handle)
        code = main(["flaky", "--new", "--seed", "4", "--jobs", "2", *args])
    return Result(root, code, out.read_text())


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory) -> Result:
    root = make_project(tmp_path_factory.mktemp("burn"), BASE)
    git(root, "init", "-q")
    commit(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    make_project(root, {**BASE, **NEW})
    (root / "tests/test_old.py").write_text(BASE["tests/test_old.py"] + "# touched\n")
    commit(root, "new tests")
    (root / "reports/flaky-new").mkdir(parents=True)
    (root / "reports/flaky.json").write_text('{"a full hunt": "untouched"}')
    (root / "reports/flaky-new/run-99.json").write_text("{}")  # an earlier, longer burn-in
    (root / "reports/flaky-new/notes.txt").write_text("mine")
    return burn_in(root, "--base", "trunk")


def test_without_history_the_changed_files_tests_are_new(branch: Result) -> None:
    burn = branch.report["meta"]["burn_in"]
    assert burn["base"] == "trunk"
    assert burn["selection"] == "changed-files"
    # test_old.py changed too, so without history its tests count as new
    assert sorted(burn["new"]) == sorted(
        [*NEW_IDS, "tests/test_old.py::test_a", "tests/test_old.py::test_b"]
    )
    assert (branch.root / "reports/flaky.json").read_text() == '{"a full hunt": "untouched"}'
    assert not (branch.root / "reports/flaky-new/run-99.json").exists()  # not mixed in
    assert (branch.root / "reports/flaky-new/notes.txt").read_text() == "mine"


def test_repetitions_follow_durations_and_orders_vary(branch: Result) -> None:
    planned = branch.report["meta"]["burn_in"]["planned_runs"]
    assert planned["tests/test_slow.py::test_slow"] == 5  # between 5 s and 10 s
    assert planned["tests/test_new.py::test_new_victim"] == 10
    assert branch.tests["tests/test_slow.py::test_slow"]["runs"] == 5
    for test_id in ("tests/test_new.py::test_new_victim", "tests/test_new.py::test_new_fine"):
        assert branch.tests[test_id]["runs"] == 10
    assert all(branch.tests[i]["new"] for i in NEW_IDS)
    orders = set()
    for run in branch.report["runs"]:
        record = json.loads((branch.root / run["junit"]).with_suffix(".json").read_text())
        orders.add(tuple(t for t in record["order"] if t.startswith("tests/test_new.py")))
    assert len(orders) > 1  # several random orders of the module
    assert len(branch.report["runs"]) == branch.report["meta"]["count"] == 10


def test_the_flaky_new_test_fails_the_burn_in_with_its_cause_and_repro(branch: Result) -> None:
    victim = branch.tests["tests/test_new.py::test_new_victim"]
    assert (victim["verdict"], victim["kind"]) == ("flaky", "order-dependent")
    assert victim["polluter"] == "tests/test_new.py::test_new_polluter"
    assert run_printed(victim["repro"], branch.root).returncode == 1
    assert branch.code == 1
    assert "flaky.new: fail: 1 of 6 new tests against trunk flaky in the burn-in" in branch.out
    assert f"repro: {victim['repro']}" in branch.out
    md = (branch.root / "reports/flaky-new.md").read_text()
    assert md.startswith("# Burn-in of new tests")
    assert "- `tests/test_slow.py::test_slow`: 5 runs" in md
    assert "polluter `tests/test_new.py::test_new_polluter`" in md

    config = config_mod.load(branch.root, None)
    checks = {c.id: c for c in evaluate(config, which=("flaky",)).result.checks}
    gate = checks["flaky.new"]
    assert (gate.status.value, gate.actual) == ("fail", 1)
    assert any(victim["repro"] in d for d in gate.details)


def test_with_history_of_the_base_only_absent_ids_are_new(tmp_path: Path) -> None:
    root = make_project(tmp_path / "hist", BASE)
    git(root, "init", "-q")
    commit(root, "base")
    recorded = main_in(root, ["flaky", "--count", "1", "--seed", "1", "--no-classify"])
    assert recorded == 0  # a hunt on the base records its tests in reports/history.sqlite
    git(root, "checkout", "-q", "-b", "feature")
    make_project(root, {**BASE, "tests/test_new.py": "def test_new():\n    assert True\n"})
    (root / "tests/test_old.py").write_text(BASE["tests/test_old.py"] + "# touched\n")
    commit(root, "one new test")
    result = burn_in(root, "--base", "trunk")
    burn = result.report["meta"]["burn_in"]
    assert (burn["selection"], burn["new"]) == ("history", ["tests/test_new.py::test_new"])
    assert result.code == 0
    assert "flaky.new: pass: 1 new test against trunk, none flaky in the burn-in" in result.out
    assert set(result.tests) == {"tests/test_new.py::test_new"}

    # a burn-in of an earlier commit does not vouch for this one
    (root / "tests/test_new.py").write_text("def test_new():\n    assert 1\n")
    commit(root, "changed")
    config = config_mod.load(root, None)
    checks = {c.id: c for c in evaluate(config, which=("flaky",)).result.checks}
    assert checks["flaky.new"].status.value == "fail"
    assert "re-run testgate flaky --new" in checks["flaky.new"].message


def main_in(root: Path, argv: list[str]) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        return main(argv)


def test_burn_in_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "p", BASE)
    git(root, "init", "-q")
    commit(root, "base")
    cases = [
        (["--new", "--count", "3"], "--new decides each new test's runs by its duration"),
        (["--base", "trunk"], "--base names the base of a burn-in: add --new"),
        (["--new", "--base", "nowhere"], "--base nowhere: not a commit git knows"),
        (["--new"], "no base branch found in"),  # only `trunk`: none of the usual names
        (["--new", "--base", "orphan"], "no history of orphan in"),  # and no merge base
    ]
    git(root, "checkout", "-q", "--orphan", "orphan")
    commit(root, "unrelated")
    git(root, "checkout", "-q", "trunk")
    for argv, message in cases:
        assert main_in(root, ["flaky", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err
        assert err.count("\n") == 1
    assert main_in(root, ["flaky", "--new", "--base", "trunk"]) == 0
    assert "no new tests against trunk" in capsys.readouterr().out
