from __future__ import annotations

import json
from typing import Any

import pytest

from testgate.errors import InputError
from testgate.model import checkids
from testgate.model.flaky import FLAKY, FlakyReport, FlakyTest

FULL: dict[str, Any] = {
    "meta": {
        "format": 1,
        "tool": "testgate",
        "version": "0.2.0",
        "count": 2,
        "seed": 7,
        "complete": True,
        "pytest_args": ["-q"],
        "confidence": 0.95,
    },
    "summary": {
        "tests": 2, "passed": 1, "failed": 0, "flaky": 1, "skipped": 0, "xfailed": 0, "runs": 2,
        "completed": 2,
    },
    "runs": [
        {"iteration": n, "seed": n, "status": "completed", "exit_code": 0,
         "junit": f"reports/flaky/run-0{n}.xml", "seconds": 1.5, "tests": 2}
        for n in (1, 2)
    ],
    "tests": [
        {"id": "t.py::a", "runs": 2, "passed": 1, "failed": 1, "skipped": 0, "verdict": "flaky",
         "kind": "order-dependent", "flake_rate": 0.5, "interval": [0.1, 0.9],
         "upper_bound": None, "polluter": "t.py::p", "state_setter": None,
         "repro": "python -m pytest t.py::p t.py::a", "passes_with": None, "verified": True,
         "classify_runs": 4, "message": "assert 0",
         "quarantine": {"until": "2027-01-01", "reason": "issue 9"}},
        {"id": "t.py::b", "runs": 2, "passed": 2, "failed": 0, "skipped": 0, "verdict": "passed",
         "kind": None, "flake_rate": 0.0, "interval": [0.0, 0.66], "upper_bound": 0.78,
         "polluter": None, "state_setter": None, "repro": None, "passes_with": None,
         "verified": None, "classify_runs": None, "message": None, "quarantine": None},
    ],
}  # fmt: skip


def test_a_full_report_round_trips_to_the_same_json() -> None:
    report = FlakyReport.from_json(json.loads(json.dumps(FULL)))
    assert json.dumps(report.to_json()) == json.dumps(FULL)
    [flaky] = report.flaky
    assert (flaky.id, flaky.executed, flaky.culprit) == ("t.py::a", 2, "t.py::p")
    assert report.complete


FULL_2: dict[str, Any] = {
    **{k: v for k, v in FULL.items() if k != "tests"},
    "meta": {**FULL["meta"], "format": 2, "alpha": 0.001, "max_classify_runs": 50},
    "twice": {"seed": 9, "status": "completed", "junit": "reports/flaky/twice.xml"},
    "tests": [
        {**t, "cause": None, "leaked": [], "p_chance": p, "repro_deterministic": d,
         "repro_runs": n, "repro_failed": n, "repro_chance": None, "note": None, "fix": None,
         "changed_not_shown": [], "evidence": [{"condition": "culprit then victim", "runs": n,
                                                 "failed": n}] if n else []}
        for t, p, d, n in zip(FULL["tests"], (0.00024, None), (True, None), (5, 0), strict=True)
    ],
}  # fmt: skip


def test_a_format_2_report_round_trips_with_its_bound() -> None:
    report = FlakyReport.from_json(json.loads(json.dumps(FULL_2)))
    assert json.dumps(report.to_json()) == json.dumps(FULL_2)
    assert report.meta.alpha == 0.001
    assert (report.tests[0].p_chance, report.tests[0].repro_deterministic) == (0.00024, True)
    assert report.tests[0].leaked == ()


def test_a_format_1_report_reads_with_the_format_2_defaults() -> None:
    test = FlakyReport.from_json(FULL).tests[0]
    assert (test.p_chance, test.cause, test.leaked, test.fix, test.repro_runs) == (
        None,
        None,
        (),
        None,
        0,
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("leaked", "cwd", "tests[0].leaked: expected a list, got a string"),
        ("leaked", [1], "tests[0].leaked: expected a list of strings"),
        ("p_chance", "small", "tests[0].p_chance: expected a number"),
        ("fix", [], "tests[0].fix: expected an object"),
    ],
)
def test_format_2_fields_are_checked(key: str, value: object, message: str) -> None:
    bad = {**FULL_2, "tests": [{**FULL_2["tests"][0], key: value}]}
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        FlakyReport.from_json(bad)


def test_partial_entries_default_to_none_and_zero() -> None:
    report = FlakyReport.from_json(
        {"meta": {"format": 1}, "runs": [{}], "tests": [{"id": "x", "verdict": "skipped"}]}
    )
    assert report.summary is None
    assert report.runs[0].iteration == 1
    assert report.tests[0] == FlakyTest("x", "skipped")
    assert "summary" not in report.to_json()


def test_an_interrupted_report_is_not_complete() -> None:
    for meta in ({"format": 1, "complete": False}, {"format": 1, "count": 3}):
        report = FlakyReport.from_json({"meta": meta, "runs": [{}], "tests": []})
        assert not report.complete


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "flaky.json: expected a JSON object, got a list; re-run testgate flaky"),
        ({"runs": [], "tests": []}, "flaky.json: no meta object"),
        ({"meta": {"format": 3}}, "flaky.json: meta.format: 3 is newer than this testgate reads"),
        ({"meta": {"format": 0}}, "flaky.json: meta.format: 0 is not testgate's format 1 or 2"),
        ({"meta": {"format": True}}, "meta.format: True is not testgate's format 1 or 2"),
        ({"meta": {"format": "2"}}, "meta.format: '2' is not testgate's format 1 or 2"),
        ({"meta": {"format": 1}, "runs": {}, "tests": []}, "runs: expected a list, got an obj"),
        ({"meta": {"format": 1}, "runs": []}, "flaky.json: tests: missing a list"),
        ({"meta": {"format": 1}, "runs": [1], "tests": []}, "runs[0]: expected a JSON object"),
        ({"meta": {"format": 1}, "runs": [], "tests": [{"id": "x"}]}, "tests[0].verdict: missing"),
        ({"meta": {"format": 1}, "runs": [], "tests": [{"id": 3, "verdict": "flaky"}]},
         "tests[0].id: expected the test id, got 3"),
        ({"meta": {"format": 1}, "runs": [], "tests": [{"id": "x", "verdict": "odd"}]},
         "verdict 'odd' is not one of passed, failed, flaky, skipped"),
        ({"meta": {"format": 1, "count": "3"}, "runs": [], "tests": []},
         "meta.count: expected a whole number, got a string"),
        ({"meta": {"format": 1, "complete": 1}, "runs": [], "tests": []},
         "meta.complete: expected true or false, got 1"),
        ({"meta": {"format": 1, "pytest_args": [1]}, "runs": [], "tests": []},
         "meta.pytest_args: expected a list of strings"),
        ({"meta": {"format": 1}, "runs": [{"seconds": float("nan")}], "tests": []},
         "runs[0].seconds: expected a number, got nan"),
        ({"meta": {"format": 1}, "runs": [{"iteration": True}], "tests": []},
         "runs[0].iteration: expected a whole number, got True"),
        ({"meta": {"format": 1}, "runs": [], "tests": [{"id": "x", "verdict": "flaky",
          "interval": [0.1]}]}, "tests[0].interval: expected a list of two numbers"),
        ({"meta": {"format": 1}, "runs": [], "tests": [{"id": "x", "verdict": "flaky",
          "quarantine": {}}]}, "tests[0].quarantine.until: missing a date"),
    ],
)  # fmt: skip
def test_a_broken_report_is_one_line_naming_the_key(bad: Any, message: str) -> None:
    with pytest.raises(InputError) as caught:
        FlakyReport.from_json(bad)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_the_source_names_the_file() -> None:
    with pytest.raises(InputError, match=r"^reports/flaky\.json: meta\.format"):
        FlakyReport.from_json({"meta": {}}, "reports/flaky.json")


def test_every_check_id_has_one_family_and_unit() -> None:
    assert checkids.unit("coverage.modules:src/*") is checkids.Unit.PERCENT
    assert checkids.unit("durations.regression") is checkids.Unit.RATIO
    assert checkids.unit("history.flaky") is checkids.Unit.COUNT
    assert checkids.never_informational("inputs.junit")
    assert checkids.never_informational("inputs.new_kind")
    assert checkids.never_informational("tests.failures")
    assert not checkids.never_informational("flaky.tests")
    assert not checkids.never_informational("history.flaky")
    assert "tests.failures" not in checkids.INFORMATIONAL_IDS
    assert "inputs.junit" not in checkids.INFORMATIONAL_IDS
    assert checkids.INFORMATIONAL_IDS[:2] == ("tests", "tests.count")
    assert all(s.id.startswith(s.family.value + ".") for s in checkids.REGISTRY.values())
    assert FLAKY == "flaky"
