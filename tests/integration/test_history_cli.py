from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from testgate.checks import GateResult
from testgate.cli import main
from testgate.history import record_run
from testgate.history.record import Provenance
from testgate.model import Case, CoverageData, FileCoverage, JUnitReport, Outcome

P, F = Outcome.PASSED, Outcome.FAILED


def _run(
    db: Path, outcomes: dict[str, tuple[Outcome, float]], missing: int, commit: str = "c1"
) -> int:
    cases = tuple(Case(n, n, o, s) for n, (o, s) in outcomes.items())
    return record_run(
        db,
        result=GateResult(()),
        reports=[JUnitReport("reports/junit/unit.xml", cases)],
        coverage=CoverageData({"src/a.py": FileCoverage("src/a.py", 100, tuple(range(missing)))}),
        root=db.parent,
        origin=Provenance(commit, "main", None),
        time=f"2026-11-21T10:0{missing}:00Z",
    )


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose default history has 4 runs: coverage 98 -> 95, a slower test, a flake."""
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "reports" / "history.sqlite"
    fill = {f"t.py::f{i}": (P, 0.01) for i in range(3)}
    _run(db, {"t.py::slow": (P, 0.2), "t.py::flaky": (P, 0.01), **fill}, 2)
    _run(db, {"t.py::slow": (P, 0.2), "t.py::flaky": (F, 0.01), **fill}, 3)
    _run(db, {"t.py::slow": (P, 0.2), "t.py::flaky": (P, 0.01), **fill}, 4)
    _run(db, {"t.py::slow": (P, 0.8), "t.py::flaky": (P, 0.01), **fill}, 5, commit="c2")
    return db


def _out(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    got = capsys.readouterr()
    return got.out, got.err


@pytest.mark.usefixtures("history")
def test_runs_lists_every_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "runs"]) == 0
    out, _ = _out(capsys)
    assert out.count("\n") == 5
    assert "95.00%" in out
    assert main(["history", "runs", "--json", "--last", "2"]) == 0
    runs = json.loads(_out(capsys)[0])["runs"]
    assert [r["id"] for r in runs] == [3, 4]
    assert runs[0]["infrastructure_failure"] is False


@pytest.mark.usefixtures("history")
def test_trend_fails_on_a_drop_larger_than_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "trend", "--fail-on-drop", "2"]) == 1
    out, err = _out(capsys)
    assert "total coverage 98.00% -> 95.00% over the last 4 runs (-3.00 points)" in out
    assert err.strip() == (
        "testgate: total coverage dropped 3.00 points over the last 4 runs "
        "(98.00% -> 95.00%), more than the allowed 2"
    )
    assert main(["history", "trend", "--fail-on-drop", "3"]) == 0
    capsys.readouterr()
    assert main(["history", "trend", "--module", "src/*", "--last", "2", "--json"]) == 0
    data = json.loads(_out(capsys)[0])
    assert [p["percent"] for p in data["points"]] == [96.0, 95.0]
    assert (data["drop"], data["passed"]) == (1.0, True)


@pytest.mark.usefixtures("history")
def test_trend_without_matching_runs_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "trend", "--module", "lib/*", "--branch", "dev"]) == 2
    assert _out(capsys)[1].startswith("testgate: history: no run with coverage of lib/*")


@pytest.mark.usefixtures("history")
def test_regressions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "regressions", "--fail-on-regression"]) == 1
    out, _ = _out(capsys)
    assert out.strip() == (
        "t.py::slow: 0.800s is 4.0x its median 0.200s over 3 earlier runs (limit 1.5x)"
    )
    assert main(["history", "regressions", "--factor", "5"]) == 0
    assert "no test is more than 5x slower" in _out(capsys)[0]
    assert main(["history", "regressions", "--json"]) == 0
    assert json.loads(_out(capsys)[0])["regressions"][0]["factor"] == 4.0


@pytest.mark.usefixtures("history")
def test_flaky(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "flaky", "--fail-on-flaky"]) == 1
    out, _ = _out(capsys)
    assert "t.py::flaky" in out
    assert "flaky" in out.splitlines()[1]
    assert main(["history", "flaky", "--clear-after", "2", "--fail-on-flaky"]) == 0
    assert "cleared" in _out(capsys)[0]
    assert main(["history", "flaky", "--json"]) == 0
    (test,) = json.loads(_out(capsys)[0])["tests"]
    assert (test["id"], test["flaked"], test["runs"], test["commits"]) == (
        "t.py::flaky", 1, 4, ["c1"],
    )  # fmt: skip
    assert main(["history", "flaky", "--branch", "dev"]) == 0
    assert "no test flaked in the last 0 runs" in _out(capsys)[0]


def test_export_is_format_1(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "export"]) == 0
    data = json.loads(_out(capsys)[0])
    assert data["meta"]["format"] == 1
    assert data["meta"]["tool"] == "testgate"
    first = data["runs"][0]
    assert first == {
        "id": 1, "time": "2026-11-21T10:02:00Z", "commit": "c1", "branch": "main",
        "passed": True, "tests": 5, "failed": 0, "flaky": 0, "coverage": 98.0, "seconds": 0.24,
    }  # fmt: skip
    out = history.parent / "export.json"
    assert main(["history", "export", "--last", "1", "-o", str(out)]) == 0
    assert [r["id"] for r in json.loads(out.read_text())["runs"]] == [4]


def test_prune(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "prune"]) == 2
    assert "--keep N or history_keep" in _out(capsys)[1]
    assert main(["history", "prune", "--keep", "1"]) == 0
    assert "deleted 3 runs" in _out(capsys)[0]
    (history.parent.parent / "pyproject.toml").write_text("[tool.testgate]\nhistory_keep = 1\n")
    assert main(["history", "prune"]) == 0
    assert "deleted 0 runs, kept the newest 1" in _out(capsys)[0]


def test_the_history_location_follows_config_reports_and_db(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = history.parent.parent
    moved = root / "cache" / "h.sqlite"
    moved.parent.mkdir()
    history.rename(moved)
    assert main(["history", "runs"]) == 2
    assert "no run history yet" in _out(capsys)[1]
    assert main(["history", "runs", "--db", str(moved)]) == 0
    (root / "pyproject.toml").write_text('[tool.testgate]\nhistory = "cache/h.sqlite"\n')
    assert main(["history", "runs"]) == 0
    (root / "pyproject.toml").unlink()
    assert main(["history", "runs", "--reports", "cache"]) == 2  # cache/history.sqlite
    capsys.readouterr()


@pytest.mark.parametrize("bad", [["--last", "0"], ["--last", "x"]])
@pytest.mark.usefixtures("history")
def test_bad_numbers_are_usage_errors(capsys: pytest.CaptureFixture[str], bad: list[str]) -> None:
    assert main(["history", "runs", *bad]) == 2
    assert _out(capsys)[1].count("\n") == 1


@pytest.mark.usefixtures("history")
def test_bad_factor_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "regressions", "--factor", "-1"]) == 2
    assert main(["history", "regressions", "--factor", "fast"]) == 2
    assert "is not a number" in _out(capsys)[1]


def _reports_folder(root: Path, *, gate: str | None) -> Path:
    folder = root / "artifact"
    (folder / "junit").mkdir(parents=True)
    (folder / "junit" / "unit.xml").write_text(
        "<testsuite time='1.5'><testcase classname='t' name='a' time='1.0'/>"
        "<testcase classname='t' name='b' time='0.5'><failure message='no'/></testcase>"
        "</testsuite>"
    )
    if gate is not None:
        (folder / "gate.json").write_text(gate)
    return folder


def test_import_a_reports_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    gate = {
        "meta": {"format": 1},
        "passed": False,
        "checks": [
            {"id": "tests.failed", "status": "fail", "actual": 1, "limit": 0, "message": "1 failed"}
        ],
    }
    folder = _reports_folder(tmp_path, gate=json.dumps(gate))
    (folder / "flaky.json").write_text(
        json.dumps(
            {
                "meta": {"format": 1},
                "runs": [],
                "tests": [{"id": "t::a", "passed": 1, "failed": 1, "verdict": "flaky"}],
            }
        )
    )
    argv = [
        "history",
        "import",
        str(folder),
        "--commit",
        "abc",
        "--branch",
        "main",
        "--ci-job",
        "9",
    ]
    assert main(argv) == 0
    assert "recorded as run 1, 2" in _out(capsys)[0]
    assert main(["history", "runs", "--json"]) == 0
    runs = json.loads(_out(capsys)[0])["runs"]
    assert [
        (r["kind"], r["commit"], r["branch"], r["passed"], r["tests"], r["failed"]) for r in runs
    ] == [
        ("import", "abc", "main", False, 2, 1),
        ("flaky", "abc", "main", False, 1, 0),
    ]


def test_import_without_gate_json_judges_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = _reports_folder(tmp_path, gate=None)
    assert main(["history", "import", str(folder)]) == 0
    assert main(["history", "export"]) == 0
    (run,) = json.loads(_out(capsys)[0].split("\n", 1)[1])["runs"]
    assert (run["passed"], run["tests"], run["seconds"]) == (False, 2, 1.5)


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ("{", "not valid JSON"),
        ('{"meta": {"format": 2}, "checks": []}', "format 2 is not 1"),
        ('{"meta": {"format": 1}, "checks": [{"id": "x", "status": "maybe"}]}', "not a gate.json"),
    ],
)
def test_import_refuses_a_bad_gate_json(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    gate: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = _reports_folder(tmp_path, gate=gate)
    assert main(["history", "import", str(folder)]) == 2
    err = _out(capsys)[1]
    assert message in err
    assert "gate.json" in err
    assert not (tmp_path / "reports" / "history.sqlite").exists()


def test_import_refuses_what_is_not_a_reports_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["history", "import", "nowhere"]) == 2
    assert "nowhere: no such reports folder" in _out(capsys)[1]
    (tmp_path / "empty").mkdir()
    assert main(["history", "import", "empty"]) == 2
    assert "no junit/*.xml to import" in _out(capsys)[1]


def test_a_history_that_breaks_mid_query_is_an_input_error(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    con = sqlite3.connect(history)
    con.execute("DROP TABLE file_coverage")
    con.commit()
    con.close()
    assert main(["history", "trend", "--module", "src/*"]) == 2
    err = _out(capsys)[1]
    assert err.startswith(f"testgate: {history}: cannot use the run history (no such table")
    assert err.count("\n") == 1
