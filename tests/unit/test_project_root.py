"""Every command finds the project root from a subfolder, as pytest and nox do."""

from __future__ import annotations

from pathlib import Path

import pytest

from testgate.cli import main
from testgate.config import find_root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_nearest_testgate_table_wins_over_nearer_pytest_config(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.testgate.tests]\nmin_count = 5\n")
    write(tmp_path / "tests" / "pytest.ini", "[pytest]\n")
    assert find_root(tmp_path / "tests" / "deep") == (tmp_path, "pyproject.toml [tool.testgate]")


@pytest.mark.parametrize(
    ("name", "text", "why"),
    [
        ("pytest.ini", "", "pytest.ini"),
        ("pyproject.toml", "[tool.pytest.ini_options]\n", "pyproject.toml [tool.pytest]"),
        ("tox.ini", "[pytest]\n", "tox.ini [pytest]"),
        ("setup.cfg", "[tool:pytest]\n", "setup.cfg [tool:pytest]"),
        ("setup.py", "", "setup.py"),
        ("pyproject.toml", "[project]\nname = 'x'\n", "pyproject.toml"),
    ],
)
def test_pytest_rootdir_rules(tmp_path: Path, name: str, text: str, why: str) -> None:
    write(tmp_path / name, text)
    (tmp_path / "tests").mkdir()
    assert find_root(tmp_path / "tests") == (tmp_path, why)


def test_no_project_files_means_the_start_folder(tmp_path: Path) -> None:
    assert find_root(tmp_path) == (tmp_path, "the current directory")


JUNIT = """<testsuite tests="2"><testcase classname="tests.test_a" name="test_one" time="0.1"/>
<testcase classname="tests.test_a" name="test_two" time="0.1"/></testsuite>"""


def test_gate_from_a_subfolder_reads_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "pyproject.toml", "[tool.testgate.tests]\nmin_count = 5\n")
    write(tmp_path / "reports" / "junit" / "unit.xml", JUNIT)
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path / "tests")
    assert main(["gate"]) == 1  # the project's budget, over its reports
    out, err = capsys.readouterr()
    assert err == f"testgate: project root {tmp_path} (pyproject.toml [tool.testgate])\n"
    assert "2 tests ran, fewer than the minimum 5" in out
    assert (tmp_path / "reports" / "gate.json").is_file()
    assert not (tmp_path / "tests" / "reports").exists()


@pytest.mark.parametrize("command", ["gate", "coverage", "durations", "shard", "history"])
def test_a_mistyped_reports_folder_is_an_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    extra = {"shard": ["--splits", "2", "--group", "1"], "history": ["runs"]}.get(command, [])
    assert main([command, *extra, "--reports", "reprots"]) == 2
    assert capsys.readouterr().err == (
        "testgate: --reports reprots: no such folder; run the tests first or check the name\n"
    )
    assert not (tmp_path / "reprots").exists()
