"""`testgate init`: a [tool.testgate] block from today's numbers that today's run passes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from testgate.cli import main
from testgate.commands.init import block, top_level_packages
from testgate.config import load
from testgate.gate import run_gate
from testgate.model import Case, CoverageData, FileCoverage, JUnitReport, Outcome

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

JUNIT = """<testsuite tests="4" time="3.2">
<testcase classname="tests.test_a" name="test_fast" time="0.01"/>
<testcase classname="tests.test_a" name="test_slow" time="1.9"/>
<testcase classname="tests.test_a" name="test_skip" time="0"><skipped/></testcase>
<testcase classname="tests.test_a" name="test_xf" time="0.1"><skipped type="pytest.xfail"/>
</testcase></testsuite>"""


def test_block_from_reports_and_coverage() -> None:
    cases = (
        Case("tests/test_a.py::test_fast", "test_fast", Outcome.PASSED, 0.01),
        Case("tests/test_a.py::test_slow", "test_slow", Outcome.PASSED, 1.9),
        Case("tests/test_a.py::test_skip", "test_skip", Outcome.SKIPPED, 0.0),
        Case("tests/test_a.py::test_x", "test_x", Outcome.XFAILED, 0.1),
    )
    files = {
        "src/pkg/a.py": FileCoverage("src/pkg/a.py", 100, (1, 2, 3)),
        "src/pkg/sub/b.py": FileCoverage("src/pkg/sub/b.py", 50),
        "src/other/c.py": FileCoverage("src/other/c.py", 10, (1,)),
        "setup.py": FileCoverage("setup.py", 3),
    }
    coverage = CoverageData(files, precision=2)
    assert list(top_level_packages(coverage)) == ["src/other/**", "src/pkg/**"]
    text = block(
        [JUnitReport("reports/junit/unit-py3.12.xml", cases, time=3.2)],
        coverage,
        headroom=1.5,
        instrumented=["unit-py3.12"],
    )
    config = tomllib.loads(text)["tool"]["testgate"]
    assert config["tests"] == {"min_count": 4, "max_skipped": 1, "max_xfailed": 1}
    # 159 of 163 statements: 97.5% rounded down; pkg 147 of 150: 98%; other 9 of 10: 90%
    assert config["coverage"] == {
        "fail_under": 97,
        "modules": {"src/other/**": 90, "src/pkg/**": 98},
    }
    assert config["durations"] == {"max_test": 2.9, "max_session": {"unit-py3.12": 5.2}}
    assert "# times measured under coverage (1 session(s))" in text
    assert "# slowest: tests/test_a.py::test_slow 1.90 s" in text


def project_with_run(root: Path, reports: str, junit: str = JUNIT) -> Path:
    """A project whose tests ran once: pyproject.toml and REPORTS/junit/unit.xml."""
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    (root / reports / "junit").mkdir(parents=True)
    (root / reports / "junit" / "unit.xml").write_text(junit, encoding="utf-8")
    return root


def test_init_writes_a_block_the_gate_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project_with_run(tmp_path, "reports"))
    assert main(["init"]) == 0
    printed = capsys.readouterr().out
    assert main(["init", "--write"]) == 0
    assert (
        capsys.readouterr().out
        == f"testgate: wrote [tool.testgate] to {tmp_path / 'pyproject.toml'}\n"
    )
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert text == '[project]\nname = "x"\n\n' + printed
    config = load(tmp_path)
    assert (config.tests.min_count, config.durations.max_test) == (4, 2.9)
    assert run_gate(config).passed
    assert main(["init", "--write"]) == 2  # a second time: never overwrites the budgets
    assert "already has [tool.testgate]" in capsys.readouterr().err


def test_init_without_a_test_run_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("testgate: ")
    assert "run the tests first (`nox -s unit`" in err
    assert err.count("\n") == 1


def test_block_of_a_flat_project_with_no_tests_run() -> None:
    """Top-level modules only: no per-package floors; no test ran: no duration limits to base
    on nothing (a 0 s limit would fail the first real run)."""
    coverage = CoverageData({"mod.py": FileCoverage("mod.py", 10, (1,))}, precision=2)
    text = block([JUnitReport("reports/junit/unit.xml", ())], coverage, headroom=1.5)
    config = tomllib.loads(text)["tool"]["testgate"]
    assert config["coverage"] == {"fail_under": 90}
    assert config["tests"] == {"min_count": 0, "max_skipped": 0, "max_xfailed": 0}
    assert "durations" not in config


def test_init_reads_the_given_reports_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project_with_run(tmp_path, "out"))
    assert main(["init", "--reports", "out", "--headroom", "2"]) == 0
    config = tomllib.loads(capsys.readouterr().out)["tool"]["testgate"]
    assert config["tests"]["min_count"] == 4
    assert config["durations"]["max_test"] == 3.8  # 1.9 s times 2


def test_init_refuses_headroom_below_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--headroom", "0.5"]) == 2
    assert capsys.readouterr().err == "testgate: --headroom 0.5: must be at least 1\n"


def test_init_refuses_a_broken_junit_file_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A truncated report would give budgets that pass by forgetting tests: no block at all."""
    monkeypatch.chdir(project_with_run(tmp_path, "reports", JUNIT[:120]))
    assert main(["init"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("testgate: ")
    assert f"{tmp_path / 'reports' / 'junit' / 'unit.xml'}: not well-formed XML" in err
    assert err.count("\n") == 1
