from __future__ import annotations

import json
from pathlib import Path

import pytest

from testgate.flaky.aggregate import Iteration, TestSummary, aggregate, orders, prefix
from testgate.flaky.runner import Record, base_id, parse_log
from testgate.model import Outcome
from testgate.model.flaky import CRASHED, TIMED_OUT

P, F, E, S = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED


def iteration(n: int, *records: tuple[str, Outcome]) -> Iteration:
    return Iteration(
        iteration=n,
        seed=100 + n,
        status="completed",
        exit_code=0,
        junit=f"reports/flaky/run-{n:02d}.xml",
        seconds=1.5,
        records=tuple(Record(i, o, "boom" if o.is_failure else "", 0.25) for i, o in records),
        order=tuple(i for i, _ in records),
    )


def test_verdicts_counts_and_errors_as_failures() -> None:
    its = [
        iteration(1, ("a::ok", P), ("a::flip", F), ("a::bad", F), ("a::skip", S)),
        iteration(2, ("a::ok", P), ("a::flip", P), ("a::bad", E), ("a::skip", S)),
        iteration(3, ("a::flip", E), ("a::ok", Outcome.XPASSED), ("a::skip", Outcome.XFAILED)),
    ]
    tests = {t.id: t for t in aggregate(its)}
    assert list(tests) == sorted(tests)
    assert {i: t.verdict for i, t in tests.items()} == {
        "a::ok": "passed",
        "a::flip": "flaky",
        "a::bad": "failed",
        "a::skip": "skipped",
    }
    flip = tests["a::flip"]
    assert (flip.runs, flip.passed, flip.failed, flip.skipped) == (3, 1, 2, 0)
    assert flip.flake_rate == pytest.approx(2 / 3)
    assert [(f.iteration, f.seed) for f in flip.failures] == [(1, 101), (3, 103)]
    assert flip.upper_bound is None
    assert flip.seconds == 0.75
    skip = tests["a::skip"]
    assert (skip.flake_rate, skip.interval, skip.upper_bound) == (None, None, None)
    ok = tests["a::ok"]
    assert ok.interval is not None
    assert ok.interval[0] == 0.0
    assert ok.upper_bound == pytest.approx(1 - 0.05 ** (1 / 3))


def test_a_test_that_only_sometimes_skips_is_judged_by_the_runs_that_ran() -> None:
    summary = TestSummary("a::t", passed=2, failed=0, skipped=3)
    assert (summary.verdict, summary.runs, summary.flake_rate) == ("passed", 5, 0.0)


def test_prefix_is_what_ran_before_in_a_matching_outcome() -> None:
    it = iteration(1, ("m.py", E), ("a::x", P), ("a::y", P), ("a::v", F), ("a::z", P))
    assert prefix(it, "a::v", failed=True) == ["a::x", "a::y"]  # module ids are not tests
    assert prefix(it, "a::v", failed=False) is None
    assert prefix(it, "a::missing", failed=True) is None
    other = iteration(2, ("a::v", P))
    assert orders([it, other], "a::v", failed=False) == [other]


def test_iteration_survives_its_json_form() -> None:
    it = iteration(4, ("a::x", P), ("a::y", F))
    again = Iteration.from_json(json.loads(json.dumps(it.to_json())))
    assert again == it
    assert it.summary == {
        "iteration": 4,
        "seed": 104,
        "status": "completed",
        "exit_code": 0,
        "junit": "reports/flaky/run-04.xml",
        "seconds": 1.5,
        "tests": 2,
    }


def test_base_id_strips_only_pytest_repeat_suffixes() -> None:
    assert base_id("t.py::test_x[2-5]") == "t.py::test_x"
    assert base_id("t.py::C::test_x[a-2-5]") == "t.py::C::test_x[a]"
    assert base_id("t.py::test_x[1-2]", repeated=False) == "t.py::test_x[1-2]"


def write_log(path: Path, *events: dict[str, object], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + tail)
    return path


def test_parse_log_of_a_crashed_run_keeps_the_finished_cases(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "run.jsonl",
        {"event": "configure"},
        {"event": "start", "id": "t.py::a", "repeat": False},
        {"event": "done", "id": "t.py::a", "outcome": "passed", "duration": 0.5, "repeat": False},
        {"event": "start", "id": "t.py::b[1-2]", "repeat": True},
        tail='{"event": "done", "id": "t.py::b[1-2]", "outc',  # cut mid-line
    )
    run = parse_log(log, exit_code=3, timed_out=False, timeout=300, seconds=2.0)
    assert run.status == CRASHED
    assert run.order == ("t.py::a", "t.py::b")
    assert [(r.id, r.outcome) for r in run.records] == [("t.py::a", P), ("t.py::b", E)]
    assert run.records[1].message == (
        "crashed: the pytest process died during this test (exit code 3)"
    )
    assert run.outcome_of("t.py::b") is E
    assert run.outcome_of("t.py::nope") is None


def test_parse_log_of_a_killed_hang_names_the_test(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "run.jsonl",
        {"event": "start", "id": "t.py::hang", "repeat": False},
        tail="[]\n",  # not an event: ignored
    )
    run = parse_log(log, exit_code=-9, timed_out=True, timeout=2.5, seconds=3.0)
    assert run.status == TIMED_OUT
    assert run.records[0].message.startswith("timed out: no progress for 2.5 s")


def test_parse_log_of_a_finished_run_and_of_strange_lines(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "run.jsonl",
        {"event": "done", "id": "t.py::a", "outcome": "weird", "duration": "x"},
        {"event": "finish", "exitstatus": 1},
    )
    run = parse_log(log, exit_code=1, timed_out=False, timeout=300, seconds=1.0)
    assert run.status == "completed"
    assert run.records == (Record("t.py::a", E, "", 0.0),)
    missing = parse_log(tmp_path / "none.jsonl", exit_code=1, timed_out=False, timeout=1, seconds=0)
    assert (missing.status, missing.records) == (CRASHED, ())
