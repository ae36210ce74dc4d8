"""The gate over reports folders on disk (JUnit written as pytest writes it, no coverage)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from testgate.checks import Status
from testgate.cli import main
from testgate.commands.durations import UNDER_COVERAGE
from testgate.config import Config, load
from testgate.errors import InputError
from testgate.gate import evaluate, run_gate
from testgate.read.inputs import read_baseline

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="{failures}" skipped="0" tests="{n}"
 time="{time}" timestamp="2026-11-21T05:00:00" hostname="ci">
{cases}
</testsuite></testsuites>
"""


def case(name: str, seconds: float, failed: bool = False) -> str:
    body = '<failure message="assert False">assert False</failure>' if failed else ""
    return f'<testcase classname="tests.test_a" name="{name}" time="{seconds}">{body}</testcase>'


def write_junit(
    reports: Path, session: str, cases: dict[str, float], failed: tuple[str, ...] = ()
) -> Path:
    path = reports / "junit" / f"{session}.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(case(n, s, n in failed) for n, s in cases.items())
    text = JUNIT.format(failures=len(failed), n=len(cases), time=sum(cases.values()), cases=body)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text(
        "def test_fast():\n    pass\n\n\ndef test_slow():\n    pass\n", encoding="utf-8"
    )
    return tmp_path


def config(root: Path, toml: str = "") -> Config:
    (root / "pyproject.toml").write_text(toml, encoding="utf-8")
    return load(root)


def statuses(cfg: Config, **kw: object) -> dict[str, Status]:
    return {c.id: c.status for c in run_gate(cfg, **kw).checks}  # type: ignore[arg-type]


def test_no_junit_is_an_input_failure_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert statuses(config(project)) == {"inputs.junit": Status.FAIL}
    assert main(["gate"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "testgate: no JUnit files in reports/junit: run the tests first "
        "(`pytest --junitxml=reports/junit/<session>.xml` or `nox -s unit`)\n"
    )
    assert "gate FAILED" in captured.out
    doc = json.loads((project / "reports" / "gate.json").read_text())
    assert doc["passed"] is False
    assert doc["checks"][0]["id"] == "inputs.junit"


def test_green_run_passes_and_writes_every_report(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_junit(project / "reports", "unit", {"test_fast": 0.01, "test_slow": 0.2})
    config(project, "[tool.testgate.tests]\nmin_count = 2\n")
    summary = project / "summary.md"
    summary.write_text("before\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["gate"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "gate PASSED: 3 checks, 0 failed, 0 warnings"
    reports = project / "reports"
    doc = json.loads((reports / "gate.json").read_text())
    assert [c["id"] for c in doc["checks"]] == ["inputs.junit", "tests.count", "tests.failures"]
    assert doc["passed"] is True
    assert doc["totals"]["tests"] == 2
    md = (reports / "gate.md").read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8") == "before\n" + md + "\n"
    assert (reports / "gate-junit.xml").read_bytes().count(b"<testcase") == 3


def test_a_broken_history_warns_and_keeps_the_verdict(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_junit(project / "reports", "unit", {"test_fast": 0.01, "test_slow": 0.2})
    (project / "not-a-db.sqlite").write_bytes(b"plain text, not SQLite " * 100)
    config(project, '[tool.testgate]\nhistory = "not-a-db.sqlite"\n')
    assert main(["gate"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("testgate: warning: ")
    assert "not-a-db.sqlite" in err
    assert err.count("\n") == 1
    assert json.loads((project / "reports" / "gate.json").read_text())["passed"] is True


def test_a_broken_history_under_duration_budgets_is_a_warning_check(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The duration budgets read earlier samples from the history: when it cannot be read they
    judge this run alone and say so in a warning, never fail or pass silently."""
    write_junit(project / "reports", "unit", {"test_fast": 0.01, "test_slow": 0.2})
    (project / "not-a-db.sqlite").write_bytes(b"plain text, not SQLite " * 100)
    cfg = config(
        project,
        '[tool.testgate]\nhistory = "not-a-db.sqlite"\n[tool.testgate.durations]\nmax_test = 1\n',
    )
    found = {c.id: c for c in run_gate(cfg).checks}
    warning = found["inputs.history"]
    assert warning.status is Status.WARN
    assert "not-a-db.sqlite" in warning.message
    assert warning.message.endswith("; duration budgets judged on this run's figures alone")
    assert found["durations.max_test"].status is Status.PASS
    assert main(["gate"]) == 0
    assert "WARN inputs.history" in capsys.readouterr().out


def test_times_measured_under_coverage_are_labelled(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The nox sessions record that their tests ran under coverage: budgets, durations.md and
    the listing say the times are instrumented; records that say otherwise or cannot be read
    do not count."""
    reports = project / "reports"
    write_junit(reports, "unit", {"test_fast": 0.01, "test_slow": 0.2})
    (reports / "sessions").mkdir()
    (reports / "sessions" / "unit.json").write_text('{"instrumented": true}', encoding="utf-8")
    (reports / "sessions" / "plain.json").write_text('{"instrumented": false}', encoding="utf-8")
    (reports / "sessions" / "cut.json").write_text('{"instrumen', encoding="utf-8")
    cfg = config(project, "[tool.testgate.durations]\nmax_test = 1\n")
    found = {c.id: c for c in run_gate(cfg).checks}
    assert found["durations.max_test"].message.endswith(" (times measured under coverage)")
    assert not found["tests.count"].message.endswith("(times measured under coverage)")
    assert main(["durations"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip("\n").endswith(UNDER_COVERAGE)
    assert f"\n{UNDER_COVERAGE}\n" in (reports / "durations.md").read_text(encoding="utf-8")
    doc = json.loads((reports / "durations.json").read_text(encoding="utf-8"))
    assert doc["measured_under_coverage"] == ["unit"]


def test_red_tests_fail_the_gate(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_junit(project / "reports", "unit", {"test_fast": 0.01, "test_slow": 0.2}, ("test_slow",))
    config(project, "[tool.testgate]\ninformational = ['tests']\n")
    assert main(["gate"]) == 1
    out = capsys.readouterr().out
    assert "FAIL tests.failures: 1 test failed and 0 errors" in out
    assert "    FAILED tests/test_a.py::test_slow - assert False" in out
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["gate"]) == 1
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    assert notes == [
        "::error file=tests/test_a.py,line=5::FAILED tests/test_a.py::test_slow - assert False"
    ]


def test_unreadable_junit_is_reported_per_file(project: Path) -> None:
    write_junit(project / "reports", "unit", {"test_fast": 0.01})
    (project / "reports" / "junit" / "integration.xml").write_text("", encoding="utf-8")
    result = run_gate(config(project))
    junit = next(c for c in result.checks if c.id == "inputs.junit")
    assert junit.status is Status.FAIL
    assert "integration.xml: empty file" in junit.message
    assert not result.passed


def test_durations_with_annotations_in_github(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_junit(project / "reports", "unit-1", {"test_fast": 0.01, "test_slow": 0.9})
    write_junit(project / "reports", "unit-2", {"test_other": 0.3})
    config(
        project,
        "[tool.testgate.durations]\nmax_test = 2\npaths = { 'tests/*' = 0.5 }\n"
        "max_session = { unit = 1 }\n",
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["durations", "--workers", "2"]) == 1
    out = capsys.readouterr().out
    assert "durations FAILED: 4 checks, 2 failed, 0 warnings" in out.splitlines()
    assert "      0.90 s   74.4%  tests/test_a.py::test_slow" in out.splitlines()
    assert (
        "::error file=tests/test_a.py,line=5::tests/test_a.py::test_slow took 0.90 s, "
        "over the 0.5 s limit for tests/*"
    ) in out.splitlines()
    doc = json.loads((project / "reports" / "durations.json").read_text())
    assert doc["meta"]["format"] == 1
    assert doc["sessions"]["unit"]["tests"] == 3
    assert doc["sessions"]["unit"]["seconds"] == pytest.approx(1.21)
    assert doc["projection"] == {
        "workers": 2,
        "seconds": 0.9,
        "method": "LPT greedy over recorded durations",
    }
    assert doc["slowest"][0] == {
        "id": "tests/test_a.py::test_slow",
        "seconds": 0.9,
        "share": 0.7438,
    }
    assert doc["tests"]["tests/test_a.py::test_fast"] == 0.01
    statuses_ = {c["id"]: c["status"] for c in doc["checks"]}
    assert statuses_ == {
        "inputs.junit": "pass",
        "durations.max_test": "pass",
        "durations.paths:tests/*": "fail",
        "durations.max_session:unit": "fail",
    }
    assert "| `tests/test_a.py::test_slow` | 0.90 | 74.4% |" in (
        project / "reports" / "durations.md"
    ).read_text(encoding="utf-8")


def test_informational_turns_fail_into_warn(project: Path) -> None:
    write_junit(project / "reports", "unit", {"test_fast": 3.0})
    cfg = config(project, "[tool.testgate.durations]\nmax_test = 1\ninformational = ['max_test']\n")
    result = run_gate(cfg)
    check = next(c for c in result.checks if c.id == "durations.max_test")
    assert check.status is Status.WARN
    assert check.message.endswith("(informational)")
    assert result.passed


def test_duration_regression_against_a_baseline_folder(project: Path) -> None:
    write_junit(project / "old" / "reports", "unit", {"test_fast": 0.2, "test_slow": 0.2})
    write_junit(project / "reports", "unit", {"test_fast": 0.25, "test_slow": 0.9})
    cfg = config(project, "[tool.testgate.durations]\nmax_regression = 2\n")
    assert statuses(cfg)["durations.regression"] is Status.WARN
    got = statuses(cfg, baseline="old/reports")
    assert got["inputs.baseline"] is Status.PASS
    assert got["durations.regression"] is Status.FAIL
    missing = statuses(cfg, baseline="nope")
    assert missing["inputs.baseline"] is Status.FAIL
    assert main(["gate", "--baseline", "nope"]) == 2
    # a baseline named on the command line is read even when no budget needs it
    assert statuses(config(project), baseline="nope")["inputs.baseline"] is Status.FAIL
    # one named in the configuration only when a budget needs it
    quiet = config(project, "[tool.testgate]\nbaseline = 'nope'\n")
    assert "inputs.baseline" not in statuses(quiet)


def test_baseline_files(project: Path) -> None:
    cfg = config(project)
    gate = project / "gate.json"
    gate.write_text(
        json.dumps({"checks": [{"id": "coverage.total", "actual": 81.5}]}), encoding="utf-8"
    )
    base = read_baseline(gate, cfg.root)
    assert base.coverage is not None
    assert (base.coverage.percent, base.coverage.files) == (81.5, None)
    cov = project / "old-coverage.json"
    cov.write_text(
        json.dumps(
            {
                "files": {"a.py": {"summary": {"num_statements": 10, "missing_lines": 2}}},
                "totals": {"percent_covered": 80.0},
            }
        ),
        encoding="utf-8",
    )
    base = read_baseline(cov, cfg.root)
    assert base.coverage is not None
    assert base.coverage.files == {"a.py": (10, 2)}
    dur = project / "d.json"
    dur.write_text(json.dumps({"tests": {"t::a": 1}, "checks": []}), encoding="utf-8")
    assert read_baseline(dur, cfg.root).durations == {"t::a": 1.0}
    for body, error in [
        ("[1]", "expected a JSON object"),
        ("{", "not valid JSON"),
        ('{"files": 3}', "not a coverage.py JSON report"),
    ]:
        cov.write_text(body, encoding="utf-8")
        with pytest.raises(InputError, match=error):
            read_baseline(cov, cfg.root)
    other = project / "x.txt"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a baseline"):
        read_baseline(other, cfg.root)
    (project / "empty").mkdir()
    with pytest.raises(
        InputError, match=r"no coverage\.json, gate\.json, durations\.json or junit/"
    ):
        read_baseline(project / "empty", cfg.root)


def test_flaky_json_is_read_and_broken_one_fails(project: Path) -> None:
    write_junit(project / "reports", "unit", {"test_fast": 0.01})
    (project / "reports" / "flaky.json").write_text("{", encoding="utf-8")
    cfg = config(project)
    assert statuses(cfg)["inputs.flaky"] is Status.FAIL
    (project / "reports" / "flaky.json").write_text('{"meta": {"format": 1}}', encoding="utf-8")
    run = evaluate(cfg)
    assert run.flaky is None


def test_reports_option(project: Path) -> None:
    write_junit(project / "elsewhere", "unit", {"test_fast": 0.01})
    config(project)
    assert main(["gate", "--reports", "elsewhere"]) == 0
    assert (project / "elsewhere" / "gate.json").is_file()
    assert not (project / "reports").exists()


def test_coverage_budget_without_data_is_an_input_failure(project: Path) -> None:
    write_junit(project / "reports", "unit", {"test_fast": 0.01})
    cfg = config(project, "[tool.testgate.coverage]\nfail_under = 80\n")
    result = run_gate(cfg)
    check = next(c for c in result.checks if c.id == "inputs.coverage")
    assert check.status is Status.FAIL
    assert "no coverage data in reports" in check.message


def test_broken_baselines_say_what_they_are_not(project: Path) -> None:
    cfg = config(project)
    gate = project / "gate.json"
    for body, error in [
        ('{"checks": [{"no-id": 1}]}', r"not a testgate gate\.json"),
        ('{"coverage": {"files": 3}, "checks": []}', r"not a testgate gate\.json"),
        ('{"checks": [{"id": "tests.count", "actual": 3}]}', r"gate\.json: no coverage\.json"),
    ]:
        gate.write_text(body, encoding="utf-8")
        with pytest.raises(InputError, match=error):
            read_baseline(gate, cfg.root)
    durations = project / "durations.json"
    durations.write_text('{"tests": {"t": "slow"}}', encoding="utf-8")
    with pytest.raises(InputError, match=r"not a testgate durations\.json"):
        read_baseline(durations, cfg.root)
    old = project / "old"
    (old / "junit").mkdir(parents=True)
    (old / "junit" / "unit.xml").write_text("<testsuite>", encoding="utf-8")
    with pytest.raises(InputError, match=r"^baseline .*unit\.xml"):
        read_baseline(old, cfg.root)


def test_reports_outside_the_root_are_named_in_full(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    config(project)
    result = run_gate(replace(load(project), reports=elsewhere))
    assert result.checks[0].message.startswith(f"no JUnit files in {elsewhere}/junit")


def test_slow_tests_without_a_findable_def_get_no_line(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / "reports" / "junit" / "unit.xml"
    path.parent.mkdir(parents=True)
    path.write_text(
        '<testsuite><testcase classname="tests.test_a" name="test_renamed" time="3"/>'
        '<testcase classname="tests.gone" name="test_x" time="3"/></testsuite>',
        encoding="utf-8",
    )
    config(project, "[tool.testgate.durations]\nmax_test = 1\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["gate"]) == 1
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    assert notes == [
        "::error file=tests/test_a.py::tests/test_a.py::test_renamed took 3.00 s, "
        "over the 1 s limit per test",
        "::error file=tests.gone::tests.gone::test_x took 3.00 s, over the 1 s limit per test",
    ]


def test_durations_of_an_empty_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_junit(project / "reports", "unit", {})
    config(project)
    assert main(["durations"]) == 0
    out = capsys.readouterr().out
    assert "slowest" not in out
    doc = json.loads((project / "reports" / "durations.json").read_text())
    assert (doc["count"], doc["slowest"], doc["projection"]["seconds"]) == (0, [], 0.0)
