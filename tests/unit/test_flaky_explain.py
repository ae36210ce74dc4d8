"""The pure parts of explaining a flake: the chance bound, state diffs, patches, the report."""

from __future__ import annotations

import ast
import logging
import math
import os
import sys
import types
from pathlib import Path

import pytest

from testgate.flaky import causes, fixes, state, twice
from testgate.flaky.aggregate import TestSummary
from testgate.flaky.classify import Finding
from testgate.flaky.explain import NON_IDEMPOTENT, Explanation
from testgate.flaky.report import build_report, markdown
from testgate.flaky.runner import Record
from testgate.flaky.stats import chance
from testgate.flaky.trials import Evidence, deterministic_runs
from testgate.model import Outcome


def test_chance_is_the_best_fixed_rate_explanation() -> None:
    assert chance(4, 4) == pytest.approx(2.0**-8)
    assert chance(passes=2, failures=1) == pytest.approx((1 / 3) * (2 / 3) ** 2)
    assert chance(0, 5) == chance(5, 0) == chance(0, 0) == 1.0
    assert chance(passes=3, failures=6) <= 0.01 < chance(3, 3)
    with pytest.raises(ValueError, match="negative"):
        chance(-1, 2)


def test_a_deterministic_repro_rules_out_a_coin_flip_at_alpha() -> None:
    assert deterministic_runs(0.01) == 7  # 2^-7 = 0.0078
    assert deterministic_runs(0.001) == 10
    assert deterministic_runs(0.5) == 1
    assert 0.5 ** deterministic_runs(0.01) <= 0.01 < 0.5 ** (deterministic_runs(0.01) - 1)


def test_the_cause_bound_counts_repeats_in_one_process() -> None:
    single = causes.chance(7, 1, 7)
    assert single == pytest.approx(chance(7, 7), rel=1e-3)
    # three tries a process make a failing process likelier by chance: a weaker claim
    assert causes.chance(7, 3, 7) > single
    assert causes.chance(0, 1, 5) == causes.chance(5, 1, 0) == 1.0


def test_the_state_diff_names_what_changed_and_how_to_undo_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, tmp = tmp_path / "root", tmp_path / "tmp"
    (root / "pkg").mkdir(parents=True)
    tmp.mkdir()
    module = types.ModuleType("pkg_under_watch")
    module.__file__ = str(root / "pkg" / "__init__.py")
    attrs = vars(module)
    attrs.update(DEBUG=False, REGISTRY={}, SAME=[1])
    monkeypatch.setitem(sys.modules, "pkg_under_watch", module)
    monkeypatch.delenv("TESTGATE_LEAK", raising=False)
    snap = state.Snapshotter(root, tmp)
    before = snap.take()
    os.environ["TESTGATE_LEAK"] = "1"
    attrs["DEBUG"] = True
    attrs["REGISTRY"]["x"] = 1
    (root / "out.txt").write_text("x")
    (tmp / "left.txt").write_text("y")
    logging.getLogger("testgate.unit.leak").setLevel(logging.ERROR)
    changes, undo = state.diff(before, snap.take(), root, tmp)
    by_key = {c.key: c for c in changes}
    assert {
        "os.environ['TESTGATE_LEAK']",
        "pkg_under_watch.DEBUG",
        "pkg_under_watch.REGISTRY",
        "file out.txt",
        "file $TMPDIR/left.txt",
        "logging: level of 'testgate.unit.leak'",
    } <= set(by_key)
    assert "pkg_under_watch.SAME" not in by_key
    assert (by_key["pkg_under_watch.DEBUG"].before, by_key["pkg_under_watch.DEBUG"].after) == (
        "False",
        "True",
    )
    assert by_key["pkg_under_watch.REGISTRY"].before == "{}"
    for key in by_key:
        if key in undo:
            undo[key]()
    assert "TESTGATE_LEAK" not in os.environ
    assert attrs["DEBUG"] is False
    assert attrs["REGISTRY"] == {}
    assert not (root / "out.txt").exists()
    assert not (tmp / "left.txt").exists()
    assert logging.getLogger("testgate.unit.leak").level == logging.NOTSET


def test_a_thread_is_changed_but_cannot_be_restored() -> None:
    old = {"thread 'a'": state.Item(1, "running", None)}
    new = {**old, "thread 'poller'": state.Item(2, "running", None)}
    changes, undo = state.diff(old, new, Path("."), Path("."))
    assert changes == [state.Change("thread 'poller'", "<absent>", "running", False)]
    assert undo == {}


def test_the_state_log_keeps_each_tests_first_record(tmp_path: Path) -> None:
    log = tmp_path / "state.jsonl"
    log.write_text(
        '{"id": "t::a", "changed": [["cwd", "\'/a\'", "\'/b\'", true]], "restored": []}\n'
        "not json\n"
        '{"id": "t::a", "changed": [], "restored": []}\n'
    )
    assert state.read_log(log) == {"t::a": [state.Change("cwd", "'/a'", "'/b'", True)]}
    assert state.read_log(tmp_path / "missing.jsonl") == {}


SOURCE = '''"""Tests."""
import os

from app import config


def test_polluter():
    config.DEBUG = True


def test_tags():
    tags = {"b", "a"}
    assert list(tags)[0] == "a"
    assert ",".join({"x", "y"}) == "x,y"
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(SOURCE)
    return tmp_path


def test_a_leak_fix_restores_each_leaked_item_in_the_culprits_module(project: Path) -> None:
    leaked = ("os.environ['APP_MODE']", "cwd", "sys.path", "app.config.DEBUG",
              "logging: handler on root", "file out/report.txt")  # fmt: skip
    patch = fixes.leak_fix(project, "tests/test_x.py::test_polluter", leaked)
    assert patch is not None
    ast.parse(patch.after)
    assert patch.after.startswith(SOURCE.split("\n\n")[0])
    for line in (
        "@pytest.fixture(autouse=True)",
        "monkeypatch.chdir(os.getcwd())",
        "monkeypatch.setattr(sys, 'path', list(sys.path))",
        "leaked_module = importlib.import_module('app.config')",
        "os.environ.pop(name, None)",
        "logging.getLogger().handlers[:] = saved_handlers",
        "pathlib.Path(request.config.rootpath, 'out/report.txt').unlink(missing_ok=True)",
    ):
        assert line in patch.after
    diff = patch.diff()
    assert diff.startswith("--- a/tests/test_x.py\n+++ b/tests/test_x.py\n")
    assert "+import pytest\n" in diff


def test_no_leak_fix_for_what_cannot_be_restored(project: Path) -> None:
    assert fixes.leak_fix(project, "tests/test_x.py::test_polluter", ["thread 'p'"]) is None
    assert fixes.leak_fix(project, "tests/missing.py::test_p", ["cwd"]) is None


def test_a_hash_seed_fix_sorts_the_sets_the_test_orders(project: Path) -> None:
    patch = fixes.sorted_set_fix(project, "tests/test_x.py::test_tags")
    assert patch is not None
    assert 'assert list(sorted(tags))[0] == "a"' in patch.after
    assert 'assert ",".join(sorted({"x", "y"})) == "x,y"' in patch.after
    assert fixes.sorted_set_fix(project, "tests/test_x.py::test_polluter") is None
    assert fixes.sorted_set_fix(project, "tests/test_x.py::test_nowhere") is None


def test_seed_and_clock_fixes_compile(project: Path) -> None:
    patches = [
        fixes.seed_fix(project, "tests/test_x.py::test_tags", 5),
        fixes.clock_fix(project, "tests/test_x.py::test_tags", 1767225600.05),
    ]
    for patch in patches:
        assert patch is not None
        ast.parse(patch.after)
        assert "@pytest.fixture(autouse=True)" in patch.after
    patch = patches[-1]
    assert patch is not None
    written = fixes.write(project / "reports", "test_tags[a b]", patch)
    assert written.name == "test_tags_a_b.diff"
    assert written.read_text() == patch.diff()


def test_the_twice_pass_suspects_pass_then_fail() -> None:
    records = [
        Record("t::once", Outcome.PASSED),
        Record("t::once", Outcome.FAILED),
        Record("t::always", Outcome.FAILED),
        Record("t::always", Outcome.FAILED),
        Record("t::fine", Outcome.PASSED),
        Record("t::fine", Outcome.PASSED),
    ]
    assert twice.suspects(records, ()) == ("t::once",)


def test_the_report_carries_the_explanation_and_flaky_md_its_evidence() -> None:
    tests = [TestSummary("t.py::once", passed=4, failed=0, skipped=0)]
    why = Explanation(
        kind=NON_IDEMPOTENT,
        leaked=("app.registry._PLUGINS",),
        changed=("thread 'poller'",),
        p_chance=0.0041234,
        evidence=(Evidence("run twice in one process", 7, 7),),
        repro="python -m pytest --count 2 t.py::once",
        repro_deterministic=True,
        fix={"patch": "reports/flaky/fixes/once.diff", "verified": True},
    )
    report = build_report(
        [], tests, {}, count=4, seed=1, complete=True, explanations={"t.py::once": why}
    )
    [t] = report.tests
    assert (t.verdict, t.kind, t.repro) == ("flaky", NON_IDEMPOTENT, why.repro)
    assert (t.leaked, t.p_chance, t.repro_deterministic) == (why.leaked, 0.004123, True)
    assert t.to_json_v2()["fix"] == {"patch": "reports/flaky/fixes/once.diff", "verified": True}
    assert report.summary is not None
    assert report.summary.flaky == 1
    text = markdown(report)
    assert "## Why" in text
    assert "Each causal claim here could be chance with probability <= 1%." in text
    assert "| run twice in one process | 7 | 7 |" in text
    assert "Repro (fails every time)" in text
    assert "dependence not shown: `thread 'poller'`" in text
    assert math.isclose(report.meta.alpha or 0, 0.01)


def test_a_contradicted_culprit_is_dropped_from_the_report() -> None:
    tests = [TestSummary("t.py::v", passed=4, failed=4, skipped=0)]
    finding = Finding("order-dependent", "python -m pytest t.py::p t.py::v", "t.py::p",
                      verified=True)  # fmt: skip
    why = Explanation(kind="non-deterministic", cause="time", p_chance=0.001)
    report = build_report(
        [], tests, {"t.py::v": finding}, count=8, seed=1, complete=True,
        explanations={"t.py::v": why},
    )  # fmt: skip
    [t] = report.tests
    assert (t.kind, t.cause, t.polluter, t.verified) == ("non-deterministic", "time", None, False)
