"""A quarantined flaky test that fails is a listed known flake, not a red test, until it expires."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from testgate.checks import Status
from testgate.checks.flaky import flake_rates
from testgate.checks.inventory import check_inventory
from testgate.cli import main
from testgate.config import QuarantineEntry, TestsBudget
from testgate.model import Case, JUnitReport, Outcome

TODAY = dt.date(2026, 11, 30)
FLAKE = QuarantineEntry("tests/test_a.py::test_net", dt.date(2027, 1, 31), "issue 12")
OLD = QuarantineEntry("tests/test_a.py::test_old", dt.date(2026, 11, 29))


def case(name: str, outcome: Outcome = Outcome.PASSED) -> Case:
    return Case(f"tests/test_a.py::{name}", name, outcome, 0.01, message="boom")


def checks(*cases: Case, rates: dict[str, str] | None = None) -> dict[str, object]:
    report = JUnitReport("reports/junit/unit.xml", cases)
    results = check_inventory(
        [report], TestsBudget(), quarantine=(FLAKE, OLD), today=TODAY, rates=rates
    )
    return {r.id: r for r in results}


def test_an_unexpired_quarantined_failure_is_a_known_flake_not_a_red_test() -> None:
    rate = "flaked in 3 of 10 runs (30%) of the last flake hunt"
    found = checks(
        case("test_ok"),
        case("test_net", Outcome.FAILED),
        rates={"tests/test_a.py::test_net": rate},
    )
    failures, known = found["tests.failures"], found["tests.quarantined"]
    assert failures.status is Status.PASS  # type: ignore[attr-defined]
    assert failures.actual == 0  # type: ignore[attr-defined]
    assert failures.message == (  # type: ignore[attr-defined]
        "no test failed (1 quarantined known flake failed too: tests.quarantined)"
    )
    assert known.status is Status.WARN  # type: ignore[attr-defined]
    assert known.actual == 1  # type: ignore[attr-defined]
    assert known.details == (  # type: ignore[attr-defined]
        f"tests/test_a.py::test_net: known flake, {rate}; quarantined until 2027-01-31 (issue 12)",
    )


def test_parametrized_cases_match_their_function_and_unmeasured_rates_say_so() -> None:
    found = checks(case("test_net[1]", Outcome.ERROR))
    assert found["tests.failures"].actual == 0  # type: ignore[attr-defined]
    assert found["tests.quarantined"].details == (  # type: ignore[attr-defined]
        "tests/test_a.py::test_net[1]: known flake, flake rate not measured (no flake hunt in "
        "reports/flaky.json names it); quarantined until 2027-01-31 (issue 12)",
    )


def test_an_expired_quarantine_counts_again_and_others_always_count() -> None:
    found = checks(case("test_old", Outcome.FAILED), case("test_other", Outcome.FAILED))
    failures = found["tests.failures"]
    assert failures.status is Status.FAIL  # type: ignore[attr-defined]
    assert failures.actual == 2  # type: ignore[attr-defined]
    assert failures.details[-1] == (  # type: ignore[attr-defined]
        "tests/test_a.py::test_old: its quarantine expired on 2026-11-29, so it counts again"
    )
    assert "tests.quarantined" not in found


def test_a_known_flake_beside_a_real_failure_still_fails() -> None:
    found = checks(case("test_net", Outcome.FAILED), case("test_real", Outcome.FAILED))
    assert found["tests.failures"].status is Status.FAIL  # type: ignore[attr-defined]
    assert found["tests.failures"].actual == 1  # type: ignore[attr-defined]
    assert found["tests.quarantined"].actual == 1  # type: ignore[attr-defined]


def test_flake_rates_from_a_hunt_skip_what_they_cannot_count() -> None:
    report = {
        "tests": [
            {"id": "a", "passed": 7, "failed": 3},
            {"id": "b", "passed": 0, "failed": 0},
            {"id": "c", "passed": "x", "failed": 1},
            "junk",
        ]
    }
    assert flake_rates(report) == {"a": "flaked in 3 of 10 runs (30%) of the last flake hunt"}
    assert flake_rates([]) == {}
    assert flake_rates({"tests": 3}) == {}


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="2" time="0.2">
<testcase classname="tests.test_a" name="test_ok" time="0.01"/>
<testcase classname="tests.test_a" name="test_net" time="0.1">
<failure message="timeout"/></testcase>
</testsuite></testsuites>
"""


@pytest.mark.parametrize(("until", "code"), [("2099-01-31", 0), ("2020-01-31", 1)])
def test_the_gate_passes_over_a_quarantined_flake_until_it_expires(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    until: str,
    code: int,
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.testgate.flaky]\n"
        f'quarantine = [{{ id = "tests/test_a.py::test_net", until = {until}, reason = "i12" }}]\n',
        encoding="utf-8",
    )
    junit = tmp_path / "reports" / "junit" / "unit.xml"
    junit.parent.mkdir(parents=True)
    junit.write_text(JUNIT, encoding="utf-8")
    hunt = {
        "meta": {"format": 1, "count": 10, "complete": True},
        "runs": [{"iteration": n} for n in range(1, 11)],
        "tests": [
            {"id": "tests/test_a.py::test_net", "verdict": "flaky", "passed": 8, "failed": 2}
        ],
    }
    (tmp_path / "reports" / "flaky.json").write_text(json.dumps(hunt), encoding="utf-8")
    assert main(["gate"]) == code
    capsys.readouterr()
    doc = json.loads((tmp_path / "reports" / "gate.json").read_text(encoding="utf-8"))
    by_id = {c["id"]: c for c in doc["checks"]}
    if code == 0:
        assert by_id["tests.failures"]["actual"] == 0
        assert by_id["tests.quarantined"]["details"] == [
            "tests/test_a.py::test_net: known flake, flaked in 2 of 10 runs (20%) of the last "
            "flake hunt; quarantined until 2099-01-31 (i12)"
        ]
        assert by_id["flaky.tests"]["status"] == "pass"
        md = (tmp_path / "reports" / "gate.md").read_text(encoding="utf-8")
        assert "quarantined until 2099-01-31" in md
    else:
        assert by_id["tests.failures"]["actual"] == 1
        assert by_id["tests.failures"]["status"] == "fail"
        assert "tests.quarantined" not in by_id


def test_an_unreadable_hunt_report_leaves_the_rate_unmeasured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.testgate.flaky]\nquarantine = [{ id = "tests/test_a.py::test_net", '
        "until = 2099-01-31 }]\n",
        encoding="utf-8",
    )
    junit = tmp_path / "reports" / "junit" / "unit.xml"
    junit.parent.mkdir(parents=True)
    junit.write_text(JUNIT, encoding="utf-8")
    (tmp_path / "reports" / "flaky.json").write_text("{ cut off", encoding="utf-8")
    assert main(["gate"]) == 2  # the broken hunt report fails closed on its own
    capsys.readouterr()
    doc = json.loads((tmp_path / "reports" / "gate.json").read_text(encoding="utf-8"))
    known = next(c for c in doc["checks"] if c["id"] == "tests.quarantined")
    assert "flake rate not measured" in known["details"][0]
