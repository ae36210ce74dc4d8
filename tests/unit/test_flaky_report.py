from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from testgate.config import FlakyBudget, QuarantineEntry
from testgate.flaky.aggregate import Failure, Iteration, TestSummary
from testgate.flaky.classify import Finding, command
from testgate.flaky.report import build_report, markdown, write_reports, write_run_junit
from testgate.flaky.runner import Record
from testgate.model import Outcome
from testgate.model.flaky import FlakyReport
from testgate.read.junit import read_junit

ROOT_FILES = ("tests/a/test_m.py", "tests/b/test_m.py")

VICTIM = "tests/a/test_m.py::test_victim"
POLLUTER = "tests/b/test_m.py::test_polluter"
ALWAYS = "tests/b/test_m.py::TestC::test_always[x|y]"


def failures(*iterations: int) -> tuple[Failure, ...]:
    return tuple(Failure(i, 1000 + i, f"assert {i}\ndetail") for i in iterations)


TESTS = [
    TestSummary(VICTIM, passed=6, failed=4, skipped=0, failures=failures(1, 2, 5, 9), seconds=1),
    TestSummary(POLLUTER, passed=10, failed=0, skipped=0, seconds=0.5),
    TestSummary(ALWAYS, passed=0, failed=3, skipped=0, failures=failures(1, 2, 3)),
    TestSummary("tests/a/test_m.py::test_skip", passed=0, failed=0, skipped=10),
]
FINDING = Finding(
    "order-dependent",
    command(["-p", "no:randomly", "-p", "no:cacheprovider", POLLUTER, VICTIM]),
    polluter=POLLUTER,
    verified=True,
    pytest_runs=14,
    p_chance=0.0020599,
    repro_runs=4,
    repro_failed=4,
    repro_deterministic=True,
)
ALWAYS_REPRO = (
    "python -m pytest -p randomly -p no:cacheprovider --randomly-seed=1001 "
    "'tests/b/test_m.py::TestC::test_always[x|y]'"
)
ALWAYS_FINDING = Finding(None, ALWAYS_REPRO, pytest_runs=1, repro_runs=1, repro_failed=1)
RUNS = [
    Iteration(i, 1000 + i, "completed", 1, f"reports/flaky/run-{i:02d}.xml", 1.25, (), ())
    for i in range(1, 11)
]


def make_typed() -> FlakyReport:
    budget = FlakyBudget(quarantine=(QuarantineEntry(VICTIM, dt.date(2027, 1, 1), "issue 9"),))
    return build_report(
        RUNS,
        TESTS,
        {VICTIM: FINDING, ALWAYS: ALWAYS_FINDING},
        count=10,
        seed=42,
        complete=True,
        budget=budget,
        alpha=0.01,
        max_classify_runs=50,
    )


def make_report() -> dict[str, Any]:
    """flaky.json as the hunt writes it; reading it back gives the same report."""
    report = make_typed()
    assert FlakyReport.from_json(report.to_json()) == report
    return report.to_json()


def test_flaky_json_has_format_2_and_every_test() -> None:
    report = make_report()
    assert report["meta"] == {
        "format": 2,
        "tool": "testgate",
        "version": report["meta"]["version"],
        "count": 10,
        "seed": 42,
        "complete": True,
        "pytest_args": [],
        "confidence": 0.95,
        "alpha": 0.01,
        "max_classify_runs": 50,
    }
    tests = {t["id"]: t for t in report["tests"]}
    assert list(tests) == [t.id for t in TESTS]
    victim = tests[VICTIM]
    assert {k: victim[k] for k in ("runs", "passed", "failed", "verdict", "kind")} == {
        "runs": 10,
        "passed": 6,
        "failed": 4,
        "verdict": "flaky",
        "kind": "order-dependent",
    }
    assert (victim["flake_rate"], victim["interval"]) == (0.4, [0.1682, 0.6873])
    assert (victim["polluter"], victim["state_setter"], victim["repro"]) == (
        POLLUTER,
        None,
        FINDING.repro,
    )
    assert victim["quarantine"] == {"until": "2027-01-01", "reason": "issue 9"}
    assert {k: victim[k] for k in CLAIM_FIELDS} == {
        "p_chance": 0.00206,
        "repro_deterministic": True,
        "repro_runs": 4,
        "repro_failed": 4,
        "repro_chance": None,
        "classify_runs": 14,
        "cause": None,
        "leaked": [],
        "fix": None,
        "note": None,
    }
    assert tests[POLLUTER]["upper_bound"] == 0.2589
    assert tests[POLLUTER]["repro"] is None
    assert tests[ALWAYS]["repro"] == ALWAYS_REPRO
    assert (tests[ALWAYS]["repro_runs"], tests[ALWAYS]["repro_failed"]) == (1, 1)
    assert tests[ALWAYS]["p_chance"] is None
    assert report["summary"] == {
        "tests": 4,
        "passed": 1,
        "failed": 1,
        "flaky": 1,
        "skipped": 1,
        "xfailed": 0,
        "runs": 10,
        "completed": 10,
    }


CLAIM_FIELDS = (
    "p_chance", "repro_deterministic", "repro_runs", "repro_failed", "repro_chance",
    "classify_runs", "cause", "leaked", "fix", "note",
)  # fmt: skip


def test_markdown_is_a_table_people_read() -> None:
    md = markdown(make_typed())
    lines = md.splitlines()
    assert lines[2] == "Each causal claim here could be chance with probability <= 1%."
    header = "| test | verdict | kind | rate | 95% interval | polluter / state-setter | repro |"
    first = lines.index(header)
    assert lines[first + 2].startswith(
        f"| `{VICTIM}` | flaky (quarantined) | order-dependent (chance <= 0.0021) | 40.0% (4/10) "
        f"| 16.8% to 68.7% | polluter `{POLLUTER}` | `{FINDING.repro}`<br>failed 4 of 4 runs, "
        "deterministic |"
    )
    assert r"test_always[x\|y]" in lines[first + 3]  # a pipe in an id does not split the row
    assert "1 tests never failed in at least 10 runs" in md
    assert "`testgate flaky --plan 0.01 0.95`" in md
    assert "| 10 | 1010 | completed | 1 | 0 | 1.2 |" in md


def test_markdown_of_a_partial_hunt_says_so() -> None:
    report = build_report(RUNS[:3], TESTS[1:2], {}, count=10, seed=1, complete=False, budget=None)
    md = markdown(report)
    assert "3 of 10 runs" in md
    assert "interrupted: partial report" in md
    assert "| test |" not in md


def make_root(tmp_path: Path) -> Path:
    for name in ROOT_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    return tmp_path


def test_flaky_junit_has_surefire_shape_and_reads_back(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    paths = write_reports(root / "reports", make_typed(), TESTS)
    assert [p.name for p in paths] == ["flaky.json", "flaky.md", "flaky-junit.xml"]
    assert json.loads(paths[0].read_text())["meta"]["format"] == 2
    junit = read_junit(paths[2], root=root)
    cases = {c.node_id: c for c in junit.cases}
    assert list(cases) == [t.id for t in TESTS]
    victim = cases[VICTIM]
    assert victim.outcome is Outcome.PASSED
    assert victim.flaky_in_run
    assert [a.kind for a in victim.attempts] == ["flakyFailure"] * 4
    assert victim.attempts[0].message == "run 1 (seed 1001): assert 1"
    always = cases[ALWAYS]
    assert always.outcome is Outcome.FAILED
    assert [a.kind for a in always.attempts] == ["rerunFailure"] * 2
    assert cases["tests/a/test_m.py::test_skip"].outcome is Outcome.SKIPPED
    assert (junit.totals.tests, junit.totals.failed, junit.totals.skipped) == (4, 1, 1)
    assert not list((root / "reports").glob(".*.tmp"))


def test_run_junit_of_a_crashed_iteration(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    records = (
        Record("tests/a/test_m.py::test_ok", Outcome.PASSED, "", 0.5),
        Record("tests/a/test_m.py::test_skip", Outcome.SKIPPED, "why", 0.0),
        Record("tests/a/test_m.py::test_xf", Outcome.XFAILED, "bug", 0.0),
        Record("tests/b/test_m.py::test_bad", Outcome.FAILED, "assert 0", 0.1),
        Record("tests/b/test_m.py::test_crash", Outcome.ERROR, "crashed: ...", 0.0),
        Record("tests/b/test_broken.py", Outcome.ERROR, "ImportError", 0.0),
    )
    path = root / "reports/flaky/run-01.xml"
    write_run_junit(path, records, seconds=3.0)
    junit = read_junit(path, root=root)
    assert [c.outcome for c in junit.cases] == [r.outcome for r in records]
    assert [c.node_id for c in junit.cases][:5] == [r.id for r in records][:5]
    assert junit.seconds == 3.0
