from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from lxml import etree

from testgate.checks import Annotation, CheckResult, GateResult, Status
from testgate.model import Case, CoverageData, FileCoverage, JUnitReport, Outcome
from testgate.read.junit import read_junit
from testgate.render import annotations as github
from testgate.render import jsonreport, junitxml, markdown, text

RESULT = GateResult(
    (
        CheckResult("tests.count", Status.PASS, "12 tests ran (minimum 1)", 12, 1),
        CheckResult(
            "coverage.total",
            Status.FAIL,
            "total coverage 78.43% is below the minimum 80%",
            78.43,
            80.0,
            ("src/a.py: 50.00% (3 lines missing)",),
        ),
        CheckResult(
            "coverage.diff",
            Status.WARN,
            "diff coverage 10% | <b>",
            10.0,
            90.0,
            ("src/a.py: lines 3-4",),
            (Annotation("src/a,b.py", 3, "lines 3-4 changed\nbut not covered: 100%"),),
        ),
        CheckResult("durations.max_test", Status.PASS, "ok", 0.5, 2.0),
        CheckResult("durations.regression", Status.PASS, "ok", 1.25, 1.5),
        CheckResult("inputs.coverage", Status.PASS, "read", None, None),
    )
)


def test_text_table_is_aligned_and_ends_with_the_verdict() -> None:
    out = text.render(RESULT)
    lines = out.splitlines()
    assert lines[0].split() == ["CHECK", "ACTUAL", "LIMIT", "STATUS"]
    assert len({len(line) - len(line.split()[-1]) for line in lines[:7]}) == 1
    assert "coverage.total" in lines[2]
    assert "78.43%" in lines[2]
    assert lines[2].endswith("FAIL")
    assert "0.50 s" in lines[4]
    assert "2.00 s" in lines[4]
    assert "1.25x" in lines[5]
    assert "FAIL coverage.total: total coverage 78.43% is below the minimum 80%" in lines
    assert "    src/a.py: 50.00% (3 lines missing)" in lines
    assert lines[-1] == "gate FAILED: 6 checks, 1 failed, 1 warning"
    assert "\x1b[" not in out


def test_color_only_when_asked() -> None:
    assert "\x1b[31;1mFAIL\x1b[0m" in text.render(RESULT, color=True)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_use_color_needs_a_tty_and_no_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert text.use_color(Tty())
    assert not text.use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not text.use_color(Tty())


def test_long_details_are_cut_in_the_terminal() -> None:
    check = CheckResult("tests.failures", Status.FAIL, "red", 20, 0, tuple(map(str, range(20))))
    out = text.render(GateResult((check,)))
    assert "    ... 10 more in gate.md" in out
    assert (
        text.render(GateResult(())).splitlines()[-1]
        == "gate PASSED: 0 checks, 0 failed, 0 warnings"
    )


def test_gate_json_format_1() -> None:
    files = {"src/a.py": FileCoverage("src/a.py", 4, (1,))}
    cov = CoverageData(files, precision=2)
    reports = [JUnitReport("u.xml", (Case("t::a", "a", Outcome.PASSED, 1.5),))]
    doc = jsonreport.gate_dict(RESULT, reports, cov)
    json.dumps(doc)
    assert doc["meta"]["format"] == 1
    assert doc["meta"]["tool"] == "testgate"
    assert doc["passed"] is False
    assert doc["checks"][1] == {
        "id": "coverage.total",
        "status": "fail",
        "actual": 78.43,
        "limit": 80.0,
        "message": "total coverage 78.43% is below the minimum 80%",
        "details": ["src/a.py: 50.00% (3 lines missing)"],
    }
    assert doc["totals"] is not None
    assert doc["totals"]["tests"] == 1
    assert doc["coverage"] is not None
    assert doc["coverage"]["files"] == {"src/a.py": [4, 1]}
    assert doc["coverage"]["display"] == "75.00"
    empty = jsonreport.gate_dict(GateResult(()))
    assert (empty["passed"], empty["totals"], empty["coverage"]) == (True, None, None)


def test_markdown_table_escapes_cells() -> None:
    md = markdown.render(RESULT)
    assert md.startswith("## ❌ testgate gate FAILED")
    assert "| `coverage.total` | 78.43% | 80% | ❌ fail | total coverage 78.43% is below" in md
    assert "diff coverage 10% \\| &lt;b&gt;" in md
    assert "<details><summary><code>coverage.total</code> (1)</summary>" in md
    assert "⚠️ warn" in md


def test_junit_has_one_case_per_check_and_failures_for_failed() -> None:
    root = etree.fromstring(junitxml.render(RESULT))
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == [c.id for c in RESULT.checks]
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["coverage.total"]
    assert root.get("failures") == "1"
    assert "src/a.py: 50.00%" in (cases[1].find("failure").text or "")  # type: ignore[union-attr]


def test_github_annotations_escape_and_level() -> None:
    lines = github.render(RESULT)
    assert lines == [
        "::warning file=src/a%2Cb.py,line=3::lines 3-4 changed%0Abut not covered: 100%25"
    ]
    note = Annotation("t.py", 1, "m")
    mixed = GateResult(
        (
            CheckResult("coverage.diff", Status.PASS, "ok", annotations=(note,)),
            CheckResult("durations.max_test", Status.FAIL, "slow", annotations=(note,)),
        )
    )
    assert github.render(mixed) == ["::error file=t.py,line=1::m", "::notice file=t.py,line=1::m"]
    plain = github.command(Annotation("t.py", None, "slow"))
    assert plain == "::error file=t.py::slow"


def test_gate_junit_reads_back_with_our_reader(tmp_path: Path) -> None:
    path = tmp_path / "gate-junit.xml"
    path.write_bytes(junitxml.render(RESULT))
    report = read_junit(path)
    assert (report.totals.tests, report.totals.failed) == (6, 1)
    assert [c.name for c in report.cases if c.failed] == ["coverage.total"]


def test_string_values_are_shown_as_they_are() -> None:
    assert text.value("coverage.total", "n/a") == "n/a"


def test_markdown_never_shows_an_entity_inside_a_code_span() -> None:
    """GitHub shows `&lt;` literally inside a code span: the message's backticks are escaped,
    so `<session>` is an entity in plain text and shows as <session>."""
    check = CheckResult(
        "inputs.junit",
        Status.FAIL,
        "no JUnit files (run `pytest --junitxml=reports/junit/<session>.xml` or `a|b`) <b>",
    )
    md = markdown.render(GateResult((check,)))
    row = next(line for line in md.splitlines() if line.startswith("| `inputs.junit`"))
    assert "\\`pytest --junitxml=reports/junit/&lt;session&gt;.xml\\`" in row
    assert "\\`a\\|b\\`) &lt;b&gt;" in row
    unescaped_ticks = row.replace("\\`", "").count("`")
    assert unescaped_ticks == 2  # only the check id's own code span


def test_one_check_one_warning_are_singular() -> None:
    result = GateResult((CheckResult("durations.max_test", Status.WARN, "slow", 1.5, 1.0),))
    assert text.verdict(result) == "gate PASSED: 1 check, 0 failed, 1 warning"
