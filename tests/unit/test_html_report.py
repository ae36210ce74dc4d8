from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from testgate.checks import CheckResult, GateResult, Status
from testgate.history import record_run, view
from testgate.history.record import Provenance
from testgate.model import Case, CoverageData, FileCoverage, JUnitReport, Outcome
from testgate.model.flaky import FlakyMeta, FlakyReport
from testgate.render import badges, svg
from testgate.render.html import render_html, write_html_report

EVIL = '<script>alert("x")</script>&<img src=x onerror=alert(1)>'


def _reports() -> list[JUnitReport]:
    cases = (
        Case(f"tests/test_a.py::test_evil[{EVIL}]", "test_evil", Outcome.FAILED, 1.5,
             message=f"assert {EVIL}"),
        Case("tests/test_a.py::test_fast", "test_fast", Outcome.PASSED, 0.0004),
        Case("tests/test_a.py::test_skip", "test_skip", Outcome.SKIPPED, 0.0),
    )  # fmt: skip
    return [JUnitReport("reports/junit/unit.xml", cases, time=2.0)]


def _coverage() -> CoverageData:
    return CoverageData(
        {
            "src/pkg/core/a.py": FileCoverage("src/pkg/core/a.py", 10, (1, 2, 3)),
            f"src/pkg/{EVIL}.py": FileCoverage(f"src/pkg/{EVIL}.py", 10),
        },
        precision=2,
    )


RESULT = GateResult(
    (
        CheckResult("coverage.total", Status.PASS, "total coverage 85.00%", 85.0, 80),
        CheckResult(
            "coverage.modules:src/pkg/core/*", Status.FAIL, f"core {EVIL} 70%", 70.0, 75.0,
            details=(EVIL,),
        ),
        CheckResult("durations.max_test", Status.WARN, "slow", 1.5, 1.0),
    )
)  # fmt: skip

FLAKY = FlakyReport.from_json({
    "meta": {"format": 1, "count": 10},
    "runs": [],
    "tests": [
        {"id": f"tests/test_a.py::test_v[{EVIL}]", "runs": 10, "passed": 6, "failed": 4,
         "verdict": "flaky", "kind": "order-dependent", "flake_rate": 0.4,
         "interval": [0.17, 0.69], "polluter": "tests/test_a.py::test_p", "state_setter": None,
         "repro": f"python -m pytest '{EVIL}'"},
        {"id": "tests/test_a.py::test_fast", "runs": 10, "passed": 10, "failed": 0,
         "verdict": "passed"},
    ],
})  # fmt: skip


def _html(**kw: Any) -> str:
    args: dict[str, Any] = {
        "result": RESULT,
        "reports": _reports(),
        "coverage": _coverage(),
        "flaky": FLAKY,
        "history": None,
        "now": dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.timezone.utc),
    }
    args.update(kw)
    return render_html(**args)


def test_untrusted_names_are_escaped_everywhere() -> None:
    page = _html()
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6
    # exactly one script element: ours
    assert page.count("<script>") == 1
    # it parses as HTML with no element the input smuggled in
    tree: Any = etree.HTML(page.encode())
    assert tree.xpath("//img") == []
    assert len(tree.xpath("//script")) == 1


def test_the_page_cannot_reach_the_network() -> None:
    page = _html()
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page
    tree: Any = etree.HTML(page.encode())
    refs = tree.xpath("//@src | //@href")
    assert all(r.startswith(("data:", "#")) for r in refs), refs
    assert re.findall(r"https?://(?!www\.w3\.org/2000/svg)", page) == []
    assert "@import" not in page
    assert "url(http" not in page


def test_sections_show_verdict_checks_coverage_flaky_slowest_and_histogram() -> None:
    page = _html()
    tree: Any = etree.HTML(page.encode())
    verdict = tree.xpath("//section[@id='verdict']")[0]
    assert "FAILED" in "".join(verdict.itertext())
    assert "fail" in verdict.get("class")
    assert len(tree.xpath("//h2[@id='checks']/following-sibling::table[1]/tbody/tr")) == 3
    coverage = "".join(tree.xpath("//h2[@id='coverage']/following-sibling::table[1]")[0].itertext())
    assert "src/pkg/core/*" in coverage
    assert "75%" in coverage
    assert len(tree.xpath("//svg[@class='meter']")) >= 3
    flaky = "".join(tree.xpath("//h2[@id='flaky']/following-sibling::table[1]")[0].itertext())
    assert "order-dependent" in flaky
    assert "40% (17%-69%)" in flaky
    assert "tests/test_a.py::test_p" in flaky
    assert "python -m pytest" in flaky
    slowest = tree.xpath("//h2[@id='slowest']/following-sibling::table[1]/tbody/tr")
    assert "test_evil" in "".join(slowest[0].itertext())
    assert tree.xpath("//svg[contains(@class, 'histogram')]")
    assert tree.xpath("//h2[@id='failures']")
    assert not tree.xpath("//h2[@id='trends']")  # no history, no trend charts


def test_a_passing_run_without_inputs_says_so() -> None:
    page = _html(
        result=GateResult((CheckResult("tests.min_count", Status.PASS, "ok", 1, 1),)),
        reports=[],
        coverage=None,
        flaky=None,
        modules={"src/*": 80.0},
    )
    assert ">PASSED<" in page
    assert "No coverage data." in page
    assert "No tests ran." in page
    assert "No flake hunt ran" in page
    assert 'id="failures"' not in page


def test_modules_from_the_budget_get_bars_and_a_hunt_without_flakes_says_so() -> None:
    clean = FlakyReport.from_json(
        {"meta": {"format": 1, "count": 5}, "runs": [], "tests": [{"id": "t", "verdict": "passed"}]}
    )
    page = _html(result=GateResult(()), flaky=clean, modules={"src/pkg/core/*": 90.0, "x/*": 1})
    assert "No checks ran." in page
    assert "no flaky test among 1 test in 5 runs" in page
    tree: Any = etree.HTML(page.encode())
    rows = tree.xpath("//h2[@id='coverage']/following-sibling::table[1]/tbody/tr")
    names = [r[0].text for r in rows]
    assert names[:2] == ["total", "src/pkg/core/*"]  # x/* matches nothing: no bar
    assert "x/*" not in names
    assert "90%" in "".join(rows[1].itertext())


def test_explained_flakes_show_their_cause_evidence_and_fix() -> None:
    def flaky(test_id: str, **extra: Any) -> dict[str, Any]:
        return {"id": test_id, "runs": 10, "passed": 6, "failed": 4, "verdict": "flaky",
                "flake_rate": 0.4, **extra}  # fmt: skip

    explained = FlakyReport.from_json({
        "meta": {"format": 2, "count": 10, "alpha": 0.01},
        "runs": [],
        "tests": [
            flaky("t.py::test_coin", kind="non-deterministic", cause="random", p_chance=0.004,
                  evidence=[{"condition": "seed fixed", "runs": 20, "failed": 0},
                            {"condition": "seed free", "runs": 20, "failed": 9}],
                  fix={"patch": "reports/flaky/fixes/test_coin.diff", "verified": True}),
            flaky("t.py::test_victim", kind="order-dependent", polluter="t.py::test_setter",
                  leaked=["os.environ['APP_MODE']"], p_chance=0.001,
                  evidence=[{"condition": "after t.py::test_setter", "runs": 10, "failed": 10}],
                  fix={"patch": "reports/flaky/fixes/test_victim.diff", "verified": False}),
            flaky("t.py::test_clock", kind="non-deterministic", cause="time", p_chance=0.002,
                  evidence=[{"condition": "clock frozen", "runs": 10, "failed": 0}]),
            flaky("t.py::test_unexplained", kind="non-deterministic", cause="unknown"),
        ],
    })  # fmt: skip
    tree: Any = etree.HTML(_html(flaky=explained).encode())
    table = tree.xpath("//h2[@id='flaky']/following-sibling::table[1]/tbody/tr")
    kinds = {r[0].text: [t for t in r[1].itertext() if t.strip()] for r in table}
    assert kinds["t.py::test_coin"] == ["non-deterministic", "cause", "random"]
    assert kinds["t.py::test_victim"] == [
        "order-dependent",
        "after",
        "t.py::test_setter",
        "leaked",
        "os.environ['APP_MODE']",
    ]
    assert tree.xpath("//h3")[0].text == "Why"
    blocks = tree.xpath("//details[summary/code]")
    summaries = ["".join(b.find("summary").itertext()) for b in blocks]
    assert summaries == [
        "t.py::test_coin: random (p_chance 0.004)",
        "t.py::test_victim: os.environ['APP_MODE'] (p_chance 0.001)",
        "t.py::test_clock: time (p_chance 0.002)",
    ]  # the unexplained test has no evidence to show
    rows = [[td.text for td in tr] for tr in blocks[0].xpath(".//tbody/tr")]
    assert rows == [["seed fixed", "20", "0"], ["seed free", "20", "9"]]
    assert blocks[2].find("p") is None  # no suggested fix: no fix line
    fixes = ["".join(b.find("p").itertext()) for b in blocks[:2]]
    assert fixes == [
        "Suggested fix (not applied, verified in a scratch copy): "
        "reports/flaky/fixes/test_coin.diff",
        "Suggested fix (not applied, not verified): reports/flaky/fixes/test_victim.diff",
    ]


def _history(tmp_path: Path, runs: int) -> Path:
    db = tmp_path / "history.sqlite"
    fill = tuple(Case(f"t.py::f{i}", "f", Outcome.PASSED, 0.1) for i in range(3))
    for n in range(runs):
        outcome = Outcome.FAILED if n == 0 else Outcome.PASSED
        record_run(
            db,
            result=GateResult(()),
            reports=[JUnitReport("j.xml", (Case("t.py::flip", "flip", outcome, 0.1), *fill))],
            coverage=_coverage(),
            root=tmp_path,
            origin=Provenance("c1", "main", None),
        )
    return db


def test_trends_appear_when_history_has_more_than_one_run(tmp_path: Path) -> None:
    one = _html(history=view(_history(tmp_path / "one", 1)))
    assert 'id="trends"' not in one
    assert "t.py::flip" not in one  # one failure on a commit is not a flake
    page = _html(history=view(_history(tmp_path / "three", 3)))
    tree: Any = etree.HTML(page.encode())
    titles = [t.text for t in tree.xpath("//svg[contains(@class, 'trend')]/title")]
    assert titles == ["Coverage", "Suite time", "Flaky tests"]
    assert "t.py::flip" in page
    assert "python -m pytest t.py::flip" in page
    assert 'id="trends"' not in _html(history=view(tmp_path / "missing.sqlite"))


def test_write_html_report_is_atomic_and_complete(tmp_path: Path) -> None:
    path = write_html_report(
        tmp_path / "reports" / "index.html",
        result=RESULT,
        reports=_reports(),
        coverage=_coverage(),
        flaky=FLAKY,
        history=None,
    )
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.rstrip().endswith("</html>")
    assert list(path.parent.iterdir()) == [path]


def test_duration_buckets_are_logarithmic_and_trimmed() -> None:
    buckets = svg.duration_buckets([0.0005, 0.002, 0.003, 0.7, 100.0])
    assert buckets[0] == ("<1ms", 1)
    assert ("<10ms", 2) in buckets
    assert ("<1s", 1) in buckets
    assert buckets[-1] == (">=60s", 1)
    assert svg.duration_buckets([]) == [("<1ms", 0)]


def test_charts_handle_one_point_flat_lines_and_no_points() -> None:
    for points in ([], [("a", 1.0)], [("a", 0.0), ("b", 0.0)], [("a", 50.0), ("b", 50.0)]):
        for unit in ("", "s", "%", "count"):
            chart = svg.line_chart(points, title="t<", unit=unit)
            etree.fromstring(chart.encode())  # well-formed SVG
            assert "t&lt;" in chart
    assert "120s" in svg.line_chart([("a", 120.0), ("b", 100.0)], title="t", unit="s")
    counts = svg.line_chart([("a", 0.0), ("b", 3.0)], title="t", unit="count")
    assert re.findall(r'class="axis">([^<]*)<', counts)[:3] == ["0", "2", "4"]
    etree.fromstring(svg.histogram([], title="empty").encode())
    assert 'class="meter-bad"' in svg.meter(50.0, 60.0)
    assert 'class="meter-ok"' in svg.meter(150.0, None)


@pytest.mark.parametrize(
    ("pc", "color"),
    [(95, "brightgreen"), (85, "green"), (75, "yellowgreen"), (65, "yellow"), (55, "orange"),
     (10, "red")],
)  # fmt: skip
def test_coverage_badge_colors(pc: float, color: str) -> None:
    assert badges.coverage_color(pc) == color


def _badges(tmp_path: Path, **kw: Any) -> dict[str, str]:
    args: dict[str, Any] = {
        "result": RESULT,
        "reports": _reports(),
        "coverage": _coverage(),
        "flaky": FLAKY,
    }
    args.update(kw)
    paths = badges.write_badges(tmp_path, **args)
    out = {}
    for p in paths:
        etree.fromstring(p.read_bytes())
        out[p.name] = p.read_text()
    return out


def test_badges_show_the_numbers(tmp_path: Path) -> None:
    got = _badges(tmp_path)
    assert sorted(got) == ["coverage.svg", "flaky.svg", "tests.svg"]
    assert 'aria-label="coverage: 85.00%"' in got["coverage.svg"]
    assert badges.COLORS["green"] in got["coverage.svg"]
    assert 'aria-label="tests: 1 failed, 1 passed"' in got["tests.svg"]
    assert badges.COLORS["red"] in got["tests.svg"]
    assert 'aria-label="flaky: 1"' in got["flaky.svg"]


def test_badges_for_a_clean_run_and_for_unknowns(tmp_path: Path) -> None:
    ok = JUnitReport("j.xml", (Case("a", "a", Outcome.PASSED), Case("b", "b", Outcome.SKIPPED)))
    got = _badges(tmp_path, reports=[ok], flaky=FlakyReport(FlakyMeta(), (), ()))
    assert 'aria-label="tests: 1 passed, 1 skipped"' in got["tests.svg"]
    assert 'aria-label="flaky: 0"' in got["flaky.svg"]
    got = _badges(tmp_path, reports=[JUnitReport("j.xml", (Case("a", "a", Outcome.PASSED),))],
                  coverage=None, flaky=None)  # fmt: skip
    assert 'aria-label="tests: 1 passed"' in got["tests.svg"]
    assert 'aria-label="coverage: unknown"' in got["coverage.svg"]
    assert 'aria-label="flaky: unknown"' in got["flaky.svg"]
    got = _badges(tmp_path, reports=[])
    assert 'aria-label="tests: none"' in got["tests.svg"]


def test_publish_records_then_reports_with_the_run_in_the_trend(tmp_path: Path) -> None:
    from testgate import publish
    from testgate.config import load
    from testgate.history import queries, store

    (tmp_path / "pyproject.toml").write_text(
        '[tool.testgate]\nhistory = "cache/h.sqlite"\nhistory_keep = 2\n'
        '[tool.testgate.coverage]\nmodules = { "src/pkg/core/*" = 90 }\n'
    )
    config = load(tmp_path)
    env = {"GITHUB_SHA": "abc", "GITHUB_REF_NAME": "main"}
    for _ in range(3):
        written = publish.publish(
            config, result=RESULT, reports=_reports(), coverage=_coverage(), flaky=FLAKY, env=env
        )
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "reports/index.html", "reports/badges/coverage.svg", "reports/badges/tests.svg",
        "reports/badges/flaky.svg",
    ]  # fmt: skip
    db = store.connect(tmp_path / "cache" / "h.sqlite", create=False)
    assert [r.id for r in queries.runs(db)] == [2, 3]  # history_keep = 2
    page = written[0].read_text()
    assert 'id="trends"' in page
    assert "Trends (last 2 runs)" in page
    publish.publish(config, result=RESULT, reports=[], coverage=None, flaky=None, record=False)
    assert [r.id for r in queries.runs(db)] == [2, 3]


def test_a_format_2_hunt_states_its_bound_once() -> None:
    line = "Each causal claim here could be chance with probability &lt;= 0.1%."
    hunt = dataclasses.replace(FLAKY, meta=FlakyMeta(format=2, count=10, alpha=0.001))
    assert _html(flaky=hunt).count(line) == 1
    assert "could be chance" not in _html()  # format 1 made no such promise


def test_one_number_one_meaning_in_the_html() -> None:
    """Coverage rows with the checks' precision and aggregation, skipped and xfailed apart,
    test time and session wall time labelled, check ids kept whole."""
    cases = (
        Case("tests/t.py::test_s", "test_s", Outcome.SKIPPED, 0.0),
        Case("tests/t.py::test_x", "test_x", Outcome.XFAILED, 0.25),
        Case("tests/t.py::test_p", "test_p", Outcome.PASSED, 0.5),
    )
    files = {  # 199 of 200 statements: 99.5%, shown as 99% (precision 0) like the check
        "src/attr/a.py": FileCoverage("src/attr/a.py", 100, (7,)),
        "src/attr/b.py": FileCoverage("src/attr/b.py", 100),
    }
    result = GateResult(
        (CheckResult("coverage.modules:src/attr/*", Status.PASS, "ok", 99.0, 90.0),)
    )
    page = _html(
        result=result,
        reports=[JUnitReport("reports/junit/unit.xml", cases, time=3.0)],
        coverage=CoverageData(files, precision=0),
    )
    tree: Any = etree.HTML(page.encode())
    stats = {
        s.xpath("span")[0].text: s.xpath("b")[0].text
        for s in tree.xpath("//section[@id='verdict']/div[@class='stat']")
    }
    assert (stats["skipped"], stats["xfailed"], stats["tests"]) == ("1", "1", "3")
    assert stats["test time (sum of test durations)"] == "0.75s"
    assert "unit (3 tests, 3.00s session wall time)" in page
    rows = tree.xpath("//h2[@id='coverage']/following-sibling::table[1]/tbody/tr")
    shown = {r[0].text: r[2].text for r in rows}
    assert shown == {"total": "99%", "src/attr/*": "99%"}
    check = tree.xpath("//h2[@id='checks']/following-sibling::table[1]/tbody/tr/td[2]")[0]
    assert check.get("class") == "id check"
    assert "td.check { word-break: normal; white-space: nowrap; }" in page


def test_publish_without_recording_over_a_broken_history_writes_the_page_without_trends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from testgate import publish
    from testgate.config import load

    (tmp_path / "pyproject.toml").write_text('[tool.testgate]\nhistory = "h.sqlite"\n')
    (tmp_path / "h.sqlite").write_bytes(b"not SQLite, a text file " * 100)
    written = publish.publish(
        load(tmp_path), result=RESULT, reports=_reports(), coverage=None, flaky=None, record=False
    )
    assert [p.name for p in written] == ["index.html", "coverage.svg", "tests.svg", "flaky.svg"]
    err = capsys.readouterr().err
    assert err.startswith(f"testgate: warning: {tmp_path / 'h.sqlite'}: not a testgate history")
    assert err.endswith(" (index.html written without trends)\n")
    assert err.count("\n") == 1
    page = written[0].read_text(encoding="utf-8")
    assert "verdict" in page
    assert 'id="trends"' not in page
