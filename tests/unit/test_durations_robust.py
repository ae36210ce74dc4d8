"""Duration budgets judge the median of the last runs on the same kind of machine.

The history is real SQLite in tmp_path; the JUnit files are what pytest writes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from testgate import history
from testgate._machine import cpu_model, fingerprint
from testgate.checks import CheckResult, GateResult, Status
from testgate.checks.durations import (
    check_regressions,
    check_sessions,
    check_test_limits,
    figure,
    session_stamps,
)
from testgate.cli import main
from testgate.config import Config, DurationsBudget, load
from testgate.gate import evaluate
from testgate.history import queries, record_run, store
from testgate.history.record import Provenance
from testgate.model import Case, JUnitReport, Outcome
from testgate.model.durations import Samples

MACHINE = "Test CPU @ 1GHz; 2 cores; CPython 3.11"
HERE = Provenance("c1", "main", None)


def case(node: str, seconds: float) -> Case:
    return Case(node, node.rsplit("::", 1)[-1], Outcome.PASSED, seconds)


def report(
    session: str, seconds: float, cases: dict[str, float], stamp: str | None = None
) -> JUnitReport:
    return JUnitReport(
        f"reports/junit/{session}.xml",
        tuple(case(n, s) for n, s in cases.items()),
        time=seconds,
        timestamp=stamp,
    )


def record(db: Path, *reports: JUnitReport, machine: str | None = MACHINE, **kw: object) -> int:
    return record_run(
        db,
        result=GateResult((CheckResult("tests.count", Status.PASS, "ok", 1, 1),)),
        reports=list(reports),
        coverage=None,
        root=db.parent,
        origin=HERE,
        fingerprint=machine,
        **kw,  # type: ignore[arg-type]
    )


# --- the figure judged -------------------------------------------------------------------


def test_figure_is_the_median_of_the_newest_samples_and_this_run() -> None:
    assert figure(8.0).value == 8.0
    assert not figure(8.0).robust
    f = figure(8.0, (1.0, 4.0, 4.5, 5.0), window=3)
    assert f.used == (4.5, 5.0, 8.0)
    assert (f.value, f.now) == (5.0, 8.0)
    assert f.samples() == "median of the last 3 runs: 4.50, 5.00, 8.00 s (the last is this run)"
    assert figure(8.0, (1.0,), window=1).used == (8.0,)
    assert figure(3.0, (5.0,), window=5).value == 4.0


def test_one_slow_session_run_does_not_flip_the_budget() -> None:
    now = [report("unit", 8.03, {"tests/unit/test_a.py::t": 0.1})]
    samples = Samples(5, "earlier runs in h.sqlite", {"unit": (4.6, 4.9, 4.7, 4.8)})
    (check,) = check_sessions(now, {"unit": 5}, samples=samples)
    assert check.status is Status.PASS
    assert check.actual == 4.8
    assert check.message == (
        "session unit took a median 4.80 s over its last 5 runs on this kind of machine "
        "(this run 8.03 s) (1 test), within 5 s"
    )
    assert check.details == (
        "samples: median of the last 5 runs: 4.60, 4.90, 4.70, 4.80, 8.03 s (the last is this run)",
        "earlier runs in h.sqlite",
    )
    (alone,) = check_sessions(now, {"unit": 5}, samples=Samples(5, "no run history yet"))
    assert alone.status is Status.FAIL
    assert alone.actual == 8.03
    assert alone.details == ("samples: this run only: 8.03 s", "no run history yet")


def test_a_session_slow_in_most_runs_still_fails() -> None:
    now = [report("unit", 4.0, {"tests/unit/test_a.py::t": 0.1})]
    samples = Samples(3, "h", {"unit": (6.0, 7.0)})
    (check,) = check_sessions(now, {"unit": 5}, samples=samples)
    assert check.status is Status.FAIL
    assert check.actual == 6.0
    assert "(this run 4.00 s)" in check.message


def test_per_test_limits_judge_the_median_of_a_test_with_history() -> None:
    budget = DurationsBudget(max_test=1.0)
    now = [
        report(
            "unit",
            3.0,
            {
                "tests/test_a.py::spiky": 2.5,
                "tests/test_a.py::slow": 1.5,
                "tests/test_a.py::new": 0.2,
            },
        ),
        # a repetition of a test with samples: judged once, on its mean over both
        report("unit-2", 1.0, {"tests/test_a.py::slow": 1.5}),
    ]
    samples = Samples(
        5,
        "h",
        {"unit": (1.0,)},
        {"tests/test_a.py::spiky": (0.2, 0.3), "tests/test_a.py::slow": (1.4, 1.6)},
    )
    (check,) = check_test_limits(now, budget, samples=samples)
    assert check.status is Status.FAIL
    assert check.actual == 1.5
    assert check.details == (
        "tests/test_a.py::slow: 1.50 s (median of the last 3 runs: 1.40, 1.60, 1.50 s (the last "
        "is this run))",
        "h",
    )
    assert "spiky" not in check.message
    (plain,) = check_test_limits(now, budget)
    assert plain.actual == 2.5
    # without history every case is judged on its own, repetitions included
    assert plain.details == (
        "tests/test_a.py::spiky: 2.50 s",
        "tests/test_a.py::slow: 1.50 s",
        "tests/test_a.py::slow: 1.50 s",
    )


def test_per_test_limit_passing_shows_the_slowest_and_its_samples() -> None:
    now = [report("unit", 1.0, {"tests/test_a.py::t": 0.9})]
    samples = Samples(5, "h", {"unit": (1.0,)}, {"tests/test_a.py::t": (0.1,)})
    (check,) = check_test_limits(now, DurationsBudget(max_test=1.0), samples=samples)
    assert check.status is Status.PASS
    assert check.actual == 0.5
    assert "slowest of 1 test: 0.50 s (median of the last 2 runs" in check.message
    assert check.details[-1] == "h"


def test_regressions_judge_the_median_and_show_its_samples() -> None:
    f = figure(3.0, (2.8, 3.1), window=5)
    check = check_regressions(
        {"t": f.value}, {"t": 1.0}, 1.5, 0.1, figures={"t": f}, origin="earlier runs"
    )
    assert check.status is Status.FAIL
    assert check.details == (
        "t: 1.00 s -> 3.00 s (3.0x); median of the last 3 runs: 2.80, 3.10, 3.00 s (the last "
        "is this run)",
        "earlier runs",
    )


def test_session_stamps_need_every_file_stamped() -> None:
    reports = [
        report("unit-1", 1, {}, "2026-01-01T00:00:02"),
        report("unit-2", 1, {}, "2026-01-01T00:00:01"),
        report("integration", 1, {}, None),
    ]
    assert session_stamps(reports) == {"unit": "2026-01-01T00:00:01 2026-01-01T00:00:02"}


# --- the machine -------------------------------------------------------------------------


def test_the_fingerprint_names_cpu_cores_and_python_never_the_host(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Acme  CPU @ 3GHz\n", encoding="utf-8")
    assert cpu_model(info) == "Acme CPU @ 3GHz"
    print_ = fingerprint(info)
    assert print_.startswith("Acme CPU @ 3GHz; ")
    assert " cores; " in print_
    assert print_.endswith(("CPython 3.10", "CPython 3.11", "CPython 3.12", "CPython 3.13"))
    import socket

    assert socket.gethostname() not in print_
    assert cpu_model(tmp_path / "missing") != ""


# --- samples from the history ------------------------------------------------------------


def test_samples_come_from_the_same_machine_and_session_newest_last(tmp_path: Path) -> None:
    db_path = tmp_path / "h.sqlite"
    for n, seconds in enumerate((9.0, 4.0, 4.5, 5.0, 6.0)):
        record(db_path, report("unit", seconds, {"t::a": seconds / 10}, f"s{n}"))
    record(db_path, report("unit", 1.0, {"t::a": 0.01}, "other"), machine="Other CPU; 64 cores")
    record(db_path, report("unit", 1.0, {"t::a": 0.01}, "imported"), machine=None)
    record(db_path, report("integration", 30.0, {"t::b": 3.0}, "i"))
    db = store.connect(db_path)
    try:
        sessions, tests = queries.duration_samples(
            db,
            MACHINE,
            {"unit": "now"},
            {"t::a": "unit", "t::b": "unit", "t::new": "unit"},
            earlier=3,
        )
        # the same test run judged again (same stamp) is not a second sample
        again, _ = queries.duration_samples(db, MACHINE, {"unit": "s4"}, {}, earlier=3)
        none = queries.duration_samples(db, "Unknown", {"unit": None}, {"t::a": "unit"}, earlier=3)
    finally:
        db.close()
    assert sessions == {"unit": (4.5, 5.0, 6.0)}
    assert tests == {"t::a": (0.45, 0.5, 0.6)}
    assert again == {"unit": (4.0, 4.5, 5.0)}
    assert none == ({}, {})


def test_history_samples_for_the_gate(tmp_path: Path) -> None:
    cfg = Config(root=tmp_path, durations=DurationsBudget(max_session={"unit": 5}))
    now = [report("unit", 8.0, {"t::a": 0.1}, "now")]
    first, problem = history.samples(cfg, now, MACHINE)
    assert problem is None
    assert first.origin == "no run history at reports/history.sqlite yet: this run's figures alone"
    record(cfg.history_path, report("unit", 4.0, {"t::a": 0.1}, "before"))
    other, _ = history.samples(cfg, now, "Other CPU")
    assert other.sessions == {}
    assert other.origin.startswith("no earlier run in reports/history.sqlite on this kind of")
    found, _ = history.samples(cfg, now, MACHINE)
    assert found.sessions == {"unit": (4.0,)}
    assert found.origin == (
        f"earlier runs in reports/history.sqlite on this kind of machine ({MACHINE}), window 5"
    )
    outside = replace(cfg, root=tmp_path / "project", history=cfg.history_path)
    assert str(cfg.history_path) in history.samples(outside, now, "Other CPU")[0].origin
    one, _ = history.samples(replace(cfg, durations=DurationsBudget(window=1)), now, MACHINE)
    assert (one.sessions, one.window) == ({}, 1)
    cfg.history_path.write_bytes(b"not a database at all " * 50)
    broken, problem = history.samples(cfg, now, MACHINE)
    assert broken.sessions == {}
    assert problem is not None
    assert "history.sqlite" in problem


# --- the gate ----------------------------------------------------------------------------

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="1"
 time="{time}" timestamp="{stamp}" hostname="{host}">
<testcase classname="tests.test_a" name="test_one" time="0.01"/>
</testsuite></testsuites>
"""


def run_unit(root: Path, seconds: float, stamp: str) -> None:
    path = root / "reports" / "junit" / "unit.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(JUNIT.format(time=seconds, stamp=stamp, host=f"ci-{stamp}"), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.testgate.durations]\nmax_session = { unit = 5 }\nwindow = 3\n", encoding="utf-8"
    )
    return tmp_path


def test_the_gate_records_the_machine_and_judges_the_median(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = project / "reports" / "history.sqlite"
    cfg = load(project)
    for n, seconds in enumerate((4.2, 4.4)):
        run_unit(project, seconds, f"2026-01-01T00:00:0{n}")
        record(db_path, *evaluate(cfg).reports, machine=fingerprint())
    run_unit(project, 8.03, "2026-01-01T00:00:09")  # one noisy run on an unchanged suite
    assert main(["gate"]) == 0
    assert "durations.max_session:unit  4.40 s  5.00 s  PASS" in capsys.readouterr().out
    doc = json.loads((project / "reports" / "gate.json").read_text(encoding="utf-8"))
    (session,) = [c for c in doc["checks"] if c["id"] == "durations.max_session:unit"]
    assert session["actual"] == 4.4
    assert session["message"].startswith("session unit took a median 4.40 s over its last 3 runs")
    assert session["details"][0] == (
        "samples: median of the last 3 runs: 4.20, 4.40, 8.03 s (the last is this run)"
    )
    md = (project / "reports" / "gate.md").read_text(encoding="utf-8")
    assert "4.20, 4.40, 8.03 s" in md
    db = store.connect(db_path)
    try:
        rows = db.execute(
            "SELECT r.fingerprint, s.seconds, s.stamp"
            " FROM runs r JOIN sessions s ON s.run_id = r.id"
        ).fetchall()
    finally:
        db.close()
    assert rows[-1] == (fingerprint(), 8.03, "2026-01-01T00:00:09")
    # judging the same JUnit again: still three samples, not a fourth copy of 8.03
    assert main(["gate"]) == 0
    assert "4.20, 4.40, 8.03 s" in (project / "reports" / "gate.md").read_text(encoding="utf-8")


def test_without_history_the_gate_judges_this_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_unit(project, 8.03, "2026-01-01T00:00:09")
    assert main(["gate"]) == 1
    out = capsys.readouterr().out
    assert "session unit took 8.03 s (1 test), over its 5 s budget" in out
    md = (project / "reports" / "gate.md").read_text(encoding="utf-8")
    assert "samples: this run only: 8.03 s" in md
    assert "no run history at reports/history.sqlite yet" in md
