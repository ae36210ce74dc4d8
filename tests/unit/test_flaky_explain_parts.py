"""The pure parts of the flake hunt's explanations, each on a small input: what the state
snapshot watches and puts back, the conditions a cause is pinned by, the suggested patches, and
how a probabilistic repro is reported."""

from __future__ import annotations

import ast
import json
import sys
import types
from pathlib import Path

import pytest

from testgate.commands.flaky import _options, _print_summary
from testgate.flaky import causes, explain, fixes, slices, state
from testgate.flaky.aggregate import Iteration, TestSummary
from testgate.flaky.classify import Finding
from testgate.flaky.hunt import Settings
from testgate.flaky.report import build_report, markdown
from testgate.flaky.runner import positional_args
from testgate.flaky.trials import Evidence, Trials


class Box:
    """An instance held by a module attribute: its first level is watched and put back."""

    def __init__(self) -> None:
        self.hits = 0


@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A module of the project under watch (its file is under the root)."""
    (tmp_path / "root" / "pkg").mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    module = types.ModuleType("pkg_watched")
    module.__file__ = str(tmp_path / "root" / "pkg" / "__init__.py")
    vars(module).update(SEEN=[1, 2], BOX=Box(), GONE="here")
    monkeypatch.setitem(sys.modules, "pkg_watched", module)
    return module


def test_in_place_changes_new_and_deleted_items_are_put_back(
    tmp_path: Path, watched: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, tmp = tmp_path / "root", tmp_path / "tmp"
    monkeypatch.delitem(sys.modules, "planted_fake", raising=False)
    snap = state.Snapshotter(root, tmp)
    before = snap.take()
    box = vars(watched)["BOX"]
    vars(watched)["SEEN"].append(3)  # a list changed in place
    box.hits = 5  # an instance's attribute changed in place
    del vars(watched)["GONE"]  # an attribute deleted
    vars(watched)["ADDED"] = 1  # an attribute that did not exist
    monkeypatch.setitem(sys.modules, "planted_fake", types.ModuleType("planted_fake"))
    changes, undo = state.diff(before, snap.take(), root, tmp)
    by_key = {c.key: c for c in changes}
    assert (by_key["pkg_watched.SEEN"].before, by_key["pkg_watched.SEEN"].after) == (
        "[1, 2]",
        "[1, 2, 3]",
    )
    assert by_key["pkg_watched.GONE"].after == "<absent>"
    assert by_key["pkg_watched.ADDED"].before == "<absent>"
    assert by_key["sys.modules['planted_fake']"].restorable
    for key in ("SEEN", "BOX", "GONE", "ADDED"):
        undo[f"pkg_watched.{key}"]()
    undo["sys.modules['planted_fake']"]()
    assert vars(watched)["SEEN"] == [1, 2]
    assert vars(watched)["BOX"] is box
    assert box.hits == 0
    assert vars(watched)["GONE"] == "here"
    assert "ADDED" not in vars(watched)
    assert "planted_fake" not in sys.modules


def test_the_file_walk_skips_build_metadata_the_root_inside_tmp_and_stops_at_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = tmp_path / "tmp"
    root = tmp / "project"  # the project inside the temp folder: walked once, as the project
    (root / "app.egg-info").mkdir(parents=True)
    (root / "app.egg-info" / "PKG-INFO").write_text("x")
    (root / "a.txt").write_text("a")
    (tmp / "left.txt").write_text("b")
    monkeypatch.setitem(sys.modules, "imported_as_absent", None)  # `import` fails on it: skipped
    snap = state.Snapshotter(root, tmp)
    items = snap.take()
    files = sorted(k for k in items if k.startswith("file "))
    assert files == ["file $TMPDIR/left.txt", "file a.txt"]
    assert "sys.modules['imported_as_absent']" not in items
    for i in range(5):
        (root / f"more{i}.txt").write_text("m")
    monkeypatch.setattr(state, "MAX_FILES", 3)  # a huge tree: the walk stops, it does not hang
    capped = [k for k in snap.take() if k.startswith("file ")]
    assert len(capped) == 3


def test_a_cause_s_conditions_and_the_commands_that_pin_them(tmp_path: Path) -> None:
    trials = Trials(tmp_path, tmp_path / "work", timeout=5, options=("-q",))
    fast = causes._condition(causes.CONCURRENCY, causes.SWITCHES[0])
    assert fast.label == "thread switch interval 0.000001 s x3"
    assert fast.args == ("-p", "testgate.flaky.control", "--testgate-switch-interval=0.000001",
                         "--count", "3", "--repeat-scope", "function")  # fmt: skip
    slow = causes._condition(causes.CONCURRENCY, causes.SWITCHES[1])
    assert (slow.label, slow.args[-1]) == (
        "thread switch interval 1.0 s",
        "--testgate-switch-interval=1.0",
    )
    refused = causes._condition(causes.NETWORK, "off")
    assert (refused.label, refused.args[-1]) == ("network refused", "--testgate-network=off")
    fresh = causes._condition(causes.NETWORK, "none")
    assert (fresh.label, fresh.args, fresh.env) == ("no control (fresh process)", (), ())
    hashed = causes._condition(causes.HASH_SEED, "3")
    assert hashed.command(trials, "t.py::x") == (
        "PYTHONHASHSEED=3 python -m pytest -p no:randomly -p no:cacheprovider -q t.py::x"
    )
    assert causes.find_cause(trials, "t.py::x", causes=()) == causes.Cause("unknown", None, ())


def test_patches_keep_present_imports_and_wrap_only_the_sets_a_test_orders(
    tmp_path: Path,
) -> None:
    (tmp_path / "t").mkdir()
    whole = (
        "import os\nimport random\n\nimport pytest\n\n\ndef test_x():\n    assert random.random()\n"
    )
    (tmp_path / "t" / "test_seeded.py").write_text(whole)
    patch = fixes.seed_fix(tmp_path, "t/test_seeded.py::test_x", 4)
    assert patch is not None
    assert patch.after.startswith(whole)  # nothing imported twice
    assert patch.after.count("import random") == 1
    only = '"""Only imports so far."""\nimport os\n'
    (tmp_path / "t" / "test_bare.py").write_text(only)
    patch = fixes.clock_fix(tmp_path, "t/test_bare.py::test_y", 1767225600.3)
    assert patch is not None
    assert patch.after.startswith(only + "import pytest\nimport time\n\n\n@pytest.fixture")
    ast.parse(patch.after)

    (tmp_path / "t" / "test_sets.py").write_text(
        "def test_tags():\n"
        "    tags = {'b', 'a'}\n"
        "    sizes = list(range(3))\n"
        "    for tag in tags:\n"
        "        assert tag\n"
        "    assert list({\n"
        "        'x',\n"
        "    }) and sizes\n"
    )
    patch = fixes.sorted_set_fix(tmp_path, "t/test_sets.py::test_tags")
    assert patch is not None
    ast.parse(patch.after)
    assert "    for tag in sorted(tags):\n" in patch.after
    assert "list(range(3))" in patch.after  # not a set: left alone
    assert "    assert list({\n" in patch.after  # over several lines: not rewritten


def test_a_scratch_copy_replaces_an_older_one(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / ".venv").mkdir(parents=True)
    (root / "test_a.py").write_text("def test_a():\n    pass\n")
    dest = tmp_path / "scratch"
    dest.mkdir()
    (dest / "stale.py").write_text("left by an earlier fix")
    fixes.scratch_copy(root, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["test_a.py"]


def test_fix_patches_for_each_cause_and_none_without_a_culprit(tmp_path: Path) -> None:
    (tmp_path / "test_t.py").write_text(
        "import time\n\n\ndef test_clock():\n    assert time.time()\n\n\n"
        "def test_order():\n    assert list({'a', 'b'})[0] == 'a'\n"
    )
    clock = explain.Explanation(cause=causes.TIME, fixed=("-p", "x", "--testgate-clock=17.5"))
    patch = explain._patch(tmp_path, "test_t.py::test_clock", clock)
    assert patch is not None
    assert "monkeypatch.setattr(time, 'time', lambda: 17.5)" in patch.after
    assert (
        explain._patch(tmp_path, "test_t.py::test_clock", explain.Explanation(cause="time")) is None
    )
    hashed = explain.Explanation(cause=causes.HASH_SEED)
    patch = explain._patch(tmp_path, "test_t.py::test_order", hashed)
    assert patch is not None
    assert "list(sorted({'a', 'b'}))[0]" in patch.after

    trials = Trials(tmp_path, tmp_path / "work", timeout=5)
    unverified = Finding("order-dependent", "python -m pytest", polluter="test_t.py::p")
    nobody = Finding("brittle", "python -m pytest")
    for finding in (unverified, nobody):
        assert explain._leak(trials, finding, "test_t.py::v", 3) == explain.Explanation()
    (tmp_path / "test_broken.py").write_text("def test_b(:\n")
    broken = explain.Explanation(cause=causes.HASH_SEED)  # no patch for a file that won't parse
    assert explain._fix(trials, tmp_path / "r", "test_broken.py::test_b", broken, [], 1) is broken
    assert explain._relative(tmp_path / "r" / "x.diff", tmp_path) == "r/x.diff"
    assert explain._relative(Path("/elsewhere/x.diff"), tmp_path) == "/elsewhere/x.diff"


def _log(path: Path, *events: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


def test_the_carried_options_come_from_the_first_run_that_recorded_its_paths(
    tmp_path: Path,
) -> None:
    settings = Settings(tmp_path, tmp_path / "reports", 2, 5, 1, 60.0, ("-q", "tests"))
    first = settings.work / f"{settings.name(1)}.jsonl"
    _log(first, {"event": "start", "id": "tests/t.py::a"})  # cut before it said
    its = [Iteration(i, i, "crashed", 1, "x", 0.1, (), ()) for i in (1, 2)]
    assert positional_args(first) is None
    assert _options(settings, its) == ()
    _log(settings.work / f"{settings.name(2)}.jsonl",
         {"event": "start", "id": "tests/t.py::a"},
         {"event": "configure", "positional": ["tests"]})  # fmt: skip
    assert _options(settings, its) == ("-q",)


def test_a_probabilistic_repro_says_how_likely_it_fails(capsys: pytest.CaptureFixture[str]) -> None:
    tests = [TestSummary("t.py::coin", passed=3, failed=3, skipped=0),
             TestSummary("t.py::odd", passed=3, failed=1, skipped=0),
             TestSummary("t.py::bare", passed=2, failed=2, skipped=0)]  # fmt: skip
    findings = {
        "t.py::coin": Finding("non-deterministic", "python -m pytest --count 5 t.py::coin",
                              repro_runs=3, repro_failed=2, repro_chance=0.97),
        "t.py::odd": Finding("non-deterministic", "python -m pytest t.py::odd",
                             repro_runs=1, repro_failed=1),
    }  # fmt: skip
    unknown = explain.Explanation(
        kind="non-deterministic", cause="unknown", evidence=(Evidence("random: seeds", 12, 6),)
    )
    report = build_report(
        [], tests, findings, count=4, seed=1, complete=True, explanations={"t.py::bare": unknown}
    )
    _print_summary(report)
    out = capsys.readouterr().out
    assert (
        "    repro checked: failed 2 of 3 runs, fails at least once with probability >= 97%\n"
        in out
    )
    assert "    repro checked: failed 1 of 1 runs\n" in out
    text = markdown(report)
    assert "failed 2 of 3 runs; fails at least once with probability >= 97.0%" in text
    why = text.split("## Why", 1)[1]
    assert "### `t.py::bare`: non-deterministic, cause unknown" in why
    assert "Repro (" not in why  # neither the classifier nor the cause gave it a repro
    assert "| random: seeds | 12 | 6 |" in why


def test_combining_slices_clears_an_earlier_hunt_s_files_but_nothing_else(tmp_path: Path) -> None:
    settings = Settings(tmp_path, tmp_path / "all", 2, 5, 1, 60.0)
    folder = tmp_path / "slice-1" / "flaky"
    folder.mkdir(parents=True)
    it = Iteration(1, 9, "completed", 0, "slice-1/flaky/run-01.xml", 0.5, (), ())
    (folder / "run-01.json").write_text(json.dumps(it.to_json()))
    (folder / "run-01.xml").write_text("<testsuites/>")
    settings.work.mkdir(parents=True)
    for stale in ("run-02.json", "classify-1.jsonl", "slice.json", "state.json"):
        (settings.work / stale).write_text("{}")
    (settings.work / "notes.txt").write_text("mine")
    [moved] = slices.combine([slices.Slice(folder, {"slice": 1, "finished": [1]})], settings)
    assert (moved.iteration, moved.junit) == (1, "all/flaky/run-01.xml")
    assert sorted(p.name for p in settings.work.iterdir()) == [
        "notes.txt", "run-01.json", "run-01.xml",
    ]  # fmt: skip
