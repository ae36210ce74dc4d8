"""The gate's coverage inputs: real coverage.py data files written with its CoverageData API."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import coverage
import pytest

from testgate.checks import Status
from testgate.cli import main
from testgate.config import Config, load
from testgate.gate import evaluate, run_gate

SOURCE = "def f(x):\n    if x:\n        return 1\n    return 2\n\n\ndef g():\n    return 3\n"
JUNIT = (
    '<testsuites><testsuite name="pytest" tests="1" time="0.5">'
    '<testcase classname="tests.test_m" name="test_f" time="0.5"/></testsuite></testsuites>'
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text(SOURCE, encoding="utf-8")
    junit = tmp_path / "reports" / "junit" / "unit.xml"
    junit.parent.mkdir(parents=True)
    junit.write_text(JUNIT, encoding="utf-8")
    folder = tmp_path / "reports" / "coverage"
    folder.mkdir()
    data = coverage.CoverageData(basename=str(folder / ".coverage.unit"))
    # f(1) ran: lines 1-3 and 7 (defs), not 4 or 8; branch 2->4 never taken
    data.add_arcs(
        {str(tmp_path / "src" / "m.py"): {(-1, 1), (1, 7), (7, -1), (-1, 2), (2, 3), (3, -1)}}
    )
    data.write()
    return tmp_path


def config(root: Path, toml: str) -> Config:
    (root / "pyproject.toml").write_text(
        "[tool.coverage.report]\nprecision = 1\n" + toml, encoding="utf-8"
    )
    return load(root)


def by_id(cfg: Config, **kw: str) -> dict[str, tuple[Status, str]]:
    return {c.id: (c.status, c.message) for c in run_gate(cfg, **kw).checks}


def test_coverage_checks_from_data_files(project: Path) -> None:
    cfg = config(project, "[tool.testgate.coverage]\nfail_under = 70\nfail_under_branches = 60\n")
    run = evaluate(cfg)
    got = {c.id: c for c in run.result.checks}
    assert run.coverage is not None
    assert got["inputs.coverage"].status is Status.PASS
    total = got["coverage.total"]
    # 6 statements, 4 run; 2 branches, 1 taken: (4 + 1) / (6 + 2) = 62.5
    assert (total.status, total.actual) == (Status.FAIL, 62.5)
    assert got["coverage.branches"].actual == 50.0
    assert got["coverage.zero"].status is Status.PASS


def test_corrupt_data_is_an_input_failure_only_when_budgets_need_it(project: Path) -> None:
    for path in (project / "reports" / "coverage").iterdir():
        path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    needed = by_id(config(project, "[tool.testgate.coverage]\nfail_under = 70\n"))
    assert needed["inputs.coverage"][0] is Status.FAIL
    spare = by_id(config(project, ""))
    assert spare["inputs.coverage"][0] is Status.WARN
    assert "coverage.total" not in spare


def test_stale_data_warns_without_budgets_and_fails_with(project: Path) -> None:
    old = (project / "reports" / "junit" / "unit.xml").stat().st_mtime - 600
    for path in (project / "reports" / "coverage").iterdir():
        os.utime(path, (old, old))
    assert by_id(config(project, ""))["inputs.coverage"][0] is Status.WARN
    status, message = by_id(config(project, "[tool.testgate.coverage]\nfail_under = 1\n"))[
        "inputs.coverage"
    ]
    assert status is Status.FAIL
    assert message.startswith("reports/coverage/.coverage.unit: stale, written 0:10:0")


def test_source_changed_after_measuring_fails_instead_of_misreporting(project: Path) -> None:
    later = time.time() + 60
    for name in ("m.py", "n.py"):
        path = project / "src" / name
        if not path.exists():
            path.write_text("x = 1\n", encoding="utf-8")
        os.utime(path, (later, later))
    status, message = by_id(config(project, "[tool.testgate.coverage]\nfail_under = 1\n"))[
        "inputs.coverage"
    ]
    assert status is Status.FAIL
    assert message.startswith("src/m.py changed after its coverage was measured (reports/")
    assert "rerun the tests with coverage" in message


def test_gate_json_is_a_baseline_for_the_next_run(project: Path) -> None:
    cfg = config(project, "[tool.testgate.coverage]\nmax_drop = 1\n")
    assert main(["gate"]) == 0
    doc = json.loads((project / "reports" / "gate.json").read_text(encoding="utf-8"))
    assert doc["coverage"]["files"] == {"src/m.py": [6, 2]}
    assert doc["coverage"]["display"] == "62.5"
    os.replace(project / "reports" / "gate.json", project / "base.json")
    got = by_id(cfg, baseline="base.json")
    assert got["inputs.baseline"][0] is Status.PASS
    assert got["coverage.max_drop"][0] is Status.PASS


def test_diff_outside_git_fails_with_what_to_do(project: Path) -> None:
    status, message = by_id(config(project, "[tool.testgate.coverage]\ndiff_fail_under = 80\n"))[
        "coverage.diff"
    ]
    assert status is Status.FAIL
    assert "is not a git checkout with a commit; diff coverage needs git" in message


def test_coverage_command_combines_and_writes_reports(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config(project, "[tool.testgate.coverage]\nfail_under = 60\n")
    assert main(["coverage"]) == 0
    reports = project / "reports"
    assert (reports / "coverage" / ".coverage").is_file()
    assert (
        json.loads((reports / "coverage.json").read_text(encoding="utf-8"))["totals"][
            "percent_covered_display"
        ]
        == "62.5"
    )
    assert (reports / "coverage.xml").is_file()
    assert "coverage.total" in capsys.readouterr().out


def test_coverage_command_without_data_exits_2(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (project / "reports" / "coverage").iterdir():
        path.unlink()
    config(project, "")
    assert main(["coverage"]) == 2
    err = capsys.readouterr().err
    assert "no coverage data (no coverage.json, no .coverage files under" in err
    assert err.count("\n") == 1
