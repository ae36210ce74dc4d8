"""`testgate shard` on a real project: pytest's own collection, node ids pytest accepts back."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testgate.cli import main
from testgate.errors import InputError
from testgate.shard import collect

pytest_plugins = ("pytester",)

PYPROJECT = """
[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = ["-v"]
"""
TEST_A = """
import time
import pytest

def test_slow():
    time.sleep(0.3)

@pytest.mark.parametrize("x", ["a b", "\\u00e9", "x::y"])
def test_param(x):
    assert x

class TestGroup:
    def test_one(self):
        pass

    def test_two(self):
        time.sleep(0.2)
"""
TEST_B = """
def test_b1():
    pass

def test_b2():
    pass
"""


def _project(root: Path) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "tests" / "test_a.py").write_text(TEST_A)
    (root / "tests" / "test_b.py").write_text(TEST_B)
    (root / "other").mkdir()
    (root / "other" / "test_outside_testpaths.py").write_text("def test_no(): pass\n")
    return root


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = _project(tmp_path / "proj")
    monkeypatch.chdir(root)
    return root


def test_collects_what_pytest_collects_whatever_the_verbosity(project: Path) -> None:
    ids = collect(project)
    assert len(ids) == 8
    assert "tests/test_a.py::test_param[a b]" in ids
    assert "tests/test_a.py::TestGroup::test_two" in ids
    assert not any(i.startswith("other/") for i in ids)
    assert collect(project, ["other"]) == ["other/test_outside_testpaths.py::test_no"]
    assert collect(project, ["-k", "b1"]) == ["tests/test_b.py::test_b1"]


def test_groups_cover_the_suite_and_pytest_runs_them_from_a_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    groups = []
    for k in (1, 2, 3):
        assert main(["shard", "--splits", "3", "--group", str(k)]) == 0
        out, err = capsys.readouterr()
        assert "no recorded duration for any of the 8 collected tests" in err
        assert "splitting them into equal counts" in err
        groups.append(out.splitlines())
    assert [len(g) for g in groups] == [3, 3, 2]
    assert sorted(n for g in groups for n in g) == sorted(collect(project))

    for k in (1, 2):  # group 1 has the escaped non-ASCII id, group 2 the one with "::"
        out_file = project / "reports" / f"shard-{k}.txt"
        assert main(["shard", "--splits", "3", "--group", str(k), "--output", str(out_file)]) == 0
        assert capsys.readouterr().out == ""
        assert out_file.read_text().splitlines() == groups[k - 1]
        done = _pytest(project, f"@{out_file}")
        assert done.returncode == 0, done.stdout
        assert "3 passed" in done.stdout
        ran = [line.split(" PASSED")[0] for line in done.stdout.splitlines() if " PASSED" in line]
        assert ran == groups[k - 1]


def test_recorded_durations_balance_the_groups(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _pytest(project, "--junitxml=reports/junit/unit.xml").returncode == 0
    assert main(["shard", "--splits", "2", "--plan"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["group", "tests", "expected"]
    assert lines[3].startswith("imbalance (max/mean): ")
    assert lines[4] == "durations: recorded for 8 of 8 tests"

    assert main(["shard", "--splits", "2", "--group", "1"]) == 0
    first = capsys.readouterr().out.splitlines()
    assert main(["shard", "--splits", "2", "--group", "2"]) == 0
    second = capsys.readouterr().out.splitlines()
    slow = {"tests/test_a.py::test_slow", "tests/test_a.py::TestGroup::test_two"}
    assert len(slow & set(first)) == 1  # the two slow tests are never in the same group
    assert len(slow & set(second)) == 1

    manifest = project / "reports" / "junit" / "unit-1.json"
    plan_file = project / "g1.txt"
    argv = ["shard", "--splits", "2", "--group", "1", "--plan", "--output", str(plan_file)]
    assert main([*argv, "--manifest", str(manifest)]) == 0
    assert capsys.readouterr().out.startswith("group")
    assert plan_file.read_text().splitlines() == first
    # --plan with a group but no --output: the plan alone, no ids mixed into it
    assert main(["shard", "--splits", "2", "--group", "1", "--plan"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("group")
    assert not set(first) & set(out.splitlines())
    note = json.loads(manifest.read_text())
    assert (note["splits"], note["group"], note["tests"]) == (2, 1, len(first))


def test_pytest_split_durations_and_pytest_args(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    durations = project / ".test_durations"
    durations.write_text(json.dumps({"tests/test_b.py::test_b1": 5.0}))
    assert main(["shard", "--splits", "2", "--group", "1", "--", "-k", "test_b"]) == 0
    assert capsys.readouterr().out == "tests/test_b.py::test_b1\n"
    argv = ["shard", "--splits", "2", "--plan", "--durations", str(durations), "--", "other"]
    assert main(argv) == 0
    assert "estimated at the mean" not in capsys.readouterr().out


def test_reports_option_points_at_another_folder(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "artifacts"
    assert _pytest(project, f"--junitxml={elsewhere / 'junit' / 'unit.xml'}").returncode == 0
    assert main(["shard", "--splits", "3", "--plan", "--reports", str(elsewhere)]) == 0
    out, err = capsys.readouterr()
    assert "recorded for 8 of 8" in out
    assert err == ""


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({"tests/test_x.py": "import nope\n"}, [], "could not collect the suite (exit 2"),
        ({"tests/test_x.py": "x = 1\n"}, [], "pytest collected no tests"),
        ({"tests/test_x.py": "def test_x(): pass\n"}, ["--group", "2"], "would be empty"),
        (
            {"tests/test_x.py": "def test_x(): pass\n", "d.json": "[1]"},
            ["--group", "1", "--durations", "d.json"],
            "d.json: expected {node id: seconds}",
        ),
        (
            # `-c` moves pytest's rootdir: its node ids would not be paths from here
            {"tests/test_x.py": "def test_x(): pass\n", "conf/pytest.ini": "[pytest]\n"},
            ["--group", "1", "--", "-c", "conf/pytest.ini", "tests"],
            "conf; run testgate shard there, where its node ids are paths pytest accepts back",
        ),
    ],
)
def test_errors_are_one_line_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    argv: list[str],
    message: str,
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    assert (
        main(["shard", "--splits", "2", *argv] if argv else ["shard", "--splits", "1", "--plan"])
        == 2
    )
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("testgate: ")]
    assert len(errors) == 1
    assert message in errors[0]


def test_a_rootdir_above_the_current_folder_is_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    sub = tmp_path / "pkg"
    (sub / "tests").mkdir(parents=True)
    (sub / "tests" / "test_x.py").write_text("def test_x(): pass\n")
    monkeypatch.chdir(sub)  # as pytest does, the rootdir above is the project root
    assert main(["shard", "--splits", "1", "--group", "1"]) == 0
    out, err = capsys.readouterr()
    assert out == "pkg/tests/test_x.py::test_x\n"
    assert err.splitlines()[0] == f"testgate: project root {tmp_path} (pytest.ini)"


def test_the_collection_plugin_records_pytests_items(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_p=textwrap.dedent(
            """
            import pytest
            @pytest.mark.parametrize("n", [1, 2])
            def test_p(n):
                pass
            """
        )
    )
    out = pytester.path / "ids.json"
    monkeypatch.setenv("TESTGATE_COLLECT_OUT", str(out))
    args = ("--collect-only", "-p", "no:randomly", "-p", "testgate._shard_collect")
    pytester.runpytest_inprocess(*args)
    found = json.loads(out.read_text())
    assert found["ids"] == ["test_p.py::test_p[1]", "test_p.py::test_p[2]"]
    assert found["rootdir"] == found["invocation_dir"] == str(pytester.path)
    out.unlink()
    monkeypatch.delenv("TESTGATE_COLLECT_OUT")
    pytester.runpytest_inprocess(*args)
    assert not out.exists()


def test_collect_reports_input_error_for_a_missing_interpreter(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x(): pass\n")
    with pytest.raises(InputError, match=r"cannot run pytest with .*python-missing"):
        collect(tmp_path, python=str(tmp_path / "python-missing"))
