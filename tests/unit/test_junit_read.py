"""The JUnit reader on each producer's quirks and on broken or hostile input."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from testgate.errors import InputError
from testgate.model import Outcome
from testgate.read import junit
from testgate.read.junit import node_id, parse_seconds, read_junit, split_repetition

DATA = Path(__file__).parent / "junit_data"

SMALL = (
    '<?xml version="1.0" encoding="{enc}"?>\n'
    '<testsuites><testsuite name="s" time="0.5" timestamp="2026-11-21T05:00:00">\n'
    '<testcase classname="tests.test_a" name="test_{word}" time="0.25"/>\n'
    '<testcase classname="tests.test_a" name="test_b" time="0.25"><failure message="no"/>'
    "</testcase>\n</testsuite></testsuites>\n"
)


def _write(tmp_path: Path, data: bytes | str, name: str = "junit.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _refusal(path: Path, **kwargs: object) -> str:
    with pytest.raises(InputError) as info:
        read_junit(path, **kwargs)  # type: ignore[arg-type]
    message = info.value.message
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


# --- producers -------------------------------------------------------------------------------


def test_surefire_flaky_and_rerun_attempts() -> None:
    report = read_junit(DATA / "surefire_flaky.xml")
    assert report.producer == "Maven Surefire"
    flaky, always, stable = report.cases
    assert flaky.outcome is Outcome.PASSED
    assert flaky.flaky_in_run
    assert [(a.kind, a.type, a.duration) for a in flaky.attempts] == [
        ("flakyFailure", "org.opentest4j.AssertionFailedError", 0.01),
        ("flakyError", "java.lang.IllegalStateException", None),
    ]
    assert flaky.attempts[0].message == "expected: <1> but was: <0>"
    assert flaky.attempts[1].message == "java.lang.IllegalStateException: boom"
    assert always.outcome is Outcome.FAILED
    assert not always.flaky_in_run
    assert [a.kind for a in always.attempts] == ["rerunFailure", "rerunError"]
    assert all(a.is_rerun for a in always.attempts)
    assert stable.attempts == ()
    assert report.time == 1.324


def test_go_junit_report() -> None:
    report = read_junit(DATA / "go_junit_report.xml")
    assert report.producer == "go-junit-report"
    assert [(c.node_id, c.outcome) for c in report.cases] == [
        ("github.com/acme/pkg::TestOne", Outcome.PASSED),
        ("github.com/acme/pkg::TestTwo/sub_case", Outcome.FAILED),
        ("github.com/acme/pkg::TestThree", Outcome.SKIPPED),
    ]
    assert report.timestamp == "2026-11-21T05:00:00Z"
    assert report.time == 0.012  # the suites' sum: the root has no time of its own


def test_jest_junit() -> None:
    report = read_junit(DATA / "jest_junit.xml")
    assert report.producer == "jest-junit"
    assert report.totals.as_dict() == {
        "tests": 3,
        "passed": 1,
        "failed": 1,
        "errors": 0,
        "skipped": 1,
        "xfailed": 0,
    }
    assert report.cases[1].message == "Error: expect(received).toBe(expected)"
    assert report.cases[0].node_id == "math adds::math adds"
    assert report.time == 1.5


def test_phpunit_nested_suites_count_every_case() -> None:
    report = read_junit(DATA / "phpunit_nested.xml")
    assert report.producer == "PHPUnit"
    assert [(c.suite, c.outcome) for c in report.cases] == [
        ("Tests\\CalculatorTest", Outcome.PASSED),
        ("Tests\\CalculatorTest::testDivide", Outcome.ERROR),
        ("Tests\\CalculatorTest::testDivide", Outcome.SKIPPED),
    ]
    assert report.time == 0.05


def test_googletest_status_and_result_attributes() -> None:
    report = read_junit(DATA / "googletest.xml")
    assert report.producer == "GoogleTest"
    assert [(c.name, c.outcome) for c in report.cases] == [
        ("Adds", Outcome.PASSED),
        ("Divides", Outcome.FAILED),
        ("DISABLED_Slow", Outcome.SKIPPED),
        ("NeedsGpu", Outcome.SKIPPED),
    ]


def test_bazel_generated_test_xml() -> None:
    report = read_junit(DATA / "bazel.xml")
    (case,) = report.cases
    assert (case.node_id, case.outcome, case.duration) == ("//pkg:shell_test", Outcome.ERROR, 3.0)
    assert case.message == "exited with error code 1"
    assert report.time is None  # nobody recorded a wall time: `seconds` falls back to the cases
    assert report.seconds == 3.0


def test_suite_level_error_is_a_failed_case_not_a_green_suite() -> None:
    report = read_junit(DATA / "ant_suite_error.xml")
    (case,) = report.cases
    assert (case.node_id, case.outcome, case.message) == (
        "com.acme.DetectorTest",
        Outcome.ERROR,
        "com/acme/Server",
    )
    assert report.timestamp == "2011-07-22T13:12:19"


def test_suite_level_failure_before_and_after_cases(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '<testsuite name="S"><failure message="before"/><testcase name="a"/>'
        '<error message="after"/></testsuite>',
    )
    cases = read_junit(path).cases
    assert [(c.name, c.outcome, c.message) for c in cases] == [
        ("a", Outcome.PASSED, None),
        ("S", Outcome.FAILED, "before"),  # the suite's own case comes when the suite ends
    ]
    path = _write(
        tmp_path, '<testsuites><testsuite><testcase name="a"/><error/></testsuite></testsuites>'
    )
    assert [(c.name, c.outcome) for c in read_junit(path).cases] == [
        ("a", Outcome.PASSED),
        ("<testsuite>", Outcome.ERROR),
    ]


def test_old_pytest_xfail_and_xpass_conventions() -> None:
    report = read_junit(DATA / "old_pytest_xfail.xml")
    assert [c.outcome for c in report.cases] == [Outcome.XFAILED, Outcome.XPASSED, Outcome.XFAILED]
    assert (report.totals.xfailed, report.totals.xpassed) == (2, 1)
    assert report.totals.as_dict() == {
        "tests": 3,
        "passed": 1,
        "failed": 0,
        "errors": 0,
        "skipped": 0,
        "xfailed": 2,
    }
    assert report.cases[0].node_id == "test_x.py::test_xfail"


def test_cases_nested_anywhere_and_worst_outcome_wins() -> None:
    report = read_junit(DATA / "nested_oddities.xml")
    outcomes = {c.name: (c.outcome, c.suite) for c in report.cases}
    assert len(report.cases) == 9
    assert outcomes["outer"] == (Outcome.FAILED, "suite 1")
    assert outcomes["inner"] == (Outcome.PASSED, "suite 1")
    assert outcomes["deep"] == (Outcome.PASSED, "suite in a case")
    assert outcomes["status only"] == (Outcome.FAILED, "suite 1")
    assert outcomes["xpassed by status"] == (Outcome.XPASSED, "suite 1")
    assert outcomes["unknown status"] == (Outcome.PASSED, "suite 1")
    assert outcomes["skip then error"] == (Outcome.ERROR, "suite 1")
    assert outcomes["only"] == (Outcome.PASSED, "suite 2")
    messages = {c.name: c.message for c in report.cases}
    assert messages["outer"] == "failure wins"
    assert messages["status only"] == "said by status"
    assert messages["text message"] == "first line"


def test_times_decimal_commas_negative_and_junk() -> None:
    report = read_junit(DATA / "times.xml")
    assert [c.duration for c in report.cases] == [0.25, 1234.5, 0.0, 0.0, 0.0, 2.5, 0.0]
    assert report.time == 1.5


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, 0.0),
        ("", 0.0),
        ("1.5", 1.5),
        ("1,5", 1.5),
        ("1,234.5", 1234.5),
        ("-2", 0.0),
        ("inf", 0.0),
        ("nan", 0.0),
        ("x", 0.0),
        (" 3 ", 3.0),
        ("4s", 4.0),
    ],
)
def test_parse_seconds(value: str | None, seconds: float) -> None:
    assert parse_seconds(value) == seconds


# --- node ids and repetitions ------------------------------------------------------------------


def test_split_repetition() -> None:
    assert split_repetition("test_x[3-10]") == ("test_x", 3)
    assert split_repetition("test_x[a-3-10]") == ("test_x[a]", 3)
    assert split_repetition("test_x[11-10]") == ("test_x[11-10]", None)
    assert split_repetition("test_x[0-10]") == ("test_x[0-10]", None)
    assert split_repetition("test_x") == ("test_x", None)


def test_parameters_that_look_like_repeats_are_kept(tmp_path: Path) -> None:
    cases = "".join(
        f'<testcase classname="test_m" name="{n}"/>'
        for n in ("test_p[1-2]", "test_p[2-3]", "test_q[a-1-2]", "test_q[a-2-2]", "test_r[b-1-2]")
    )
    report = read_junit(_write(tmp_path, f"<testsuite>{cases}</testsuite>"))
    assert [(c.node_id, c.repetition) for c in report.cases] == [
        ("test_m.py::test_p[1-2]", None),  # 1-2 and 2-3: parameters, not one complete repeat
        ("test_m.py::test_p[2-3]", None),
        ("test_m.py::test_q[a]", 1),  # every index 1..2 is there: pytest-repeat
        ("test_m.py::test_q[a]", 2),
        ("test_m.py::test_r[b-1-2]", None),  # index 2 missing: not shown to be a repeat
    ]
    # A salvaged file's last repeats are cut short: a partial group rides on a complete one with
    # the same N (and test_p[1-2] is then taken for a repeat too: the price of salvaging).
    salvaged = read_junit(_write(tmp_path, f"<testsuite>{cases}<testcase", "cut.xml"), salvage=True)
    assert [c.repetition for c in salvaged.cases] == [1, None, 1, 2, 1]


def test_node_ids_from_classnames_and_files(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "checks.py").touch()
    assert node_id("pkg.checks.TestA", "test_b", None, tmp_path) == "pkg/checks.py::TestA::test_b"
    assert node_id("tests.test_a.TestC", "test_d", None, None) == "tests/test_a.py::TestC::test_d"
    assert node_id("tests.a_test", "test_d", None, tmp_path) == "tests/a_test.py::test_d"
    assert node_id("com.acme.Thing", "works", None, tmp_path) == "com.acme.Thing::works"
    assert (
        node_id("tests.test_a.TestC", "t", "tests/test_a.py", None) == "tests/test_a.py::TestC::t"
    )
    assert node_id("tests.test_a", "t", "tests/test_a.py", None) == "tests/test_a.py::t"
    assert node_id(None, "t", "tests/test_a.py", None) == "tests/test_a.py::t"
    assert node_id("other.place", "t", "tests/test_a.py", None) == "other.place::t"
    assert node_id("Foo", "testBar", "/app/FooTest.php", None) == "Foo::testBar"
    assert node_id(None, "t", "/app/FooTest.php", None) == "/app/FooTest.php::t"
    assert node_id(None, "t", None, None) == "t"
    assert node_id("", "tests.test_gone", None, None) == "tests/test_gone.py"
    assert node_id("", "Namespace.Case", None, None) == "Namespace.Case"
    assert node_id("", "tests.test_gone", "tests/test_gone.py", None) == "tests/test_gone.py"


# --- encodings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "bom", "declared"),
    [
        ("utf-8", codecs.BOM_UTF8, "UTF-8"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16 LE"),  # an invalid name, as producers write it
        ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16"),
        ("utf-16-le", b"", "UTF-16"),
        ("utf-16-be", b"", "UTF-16"),
        ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32"),
        ("utf-32-be", b"", "UTF-32"),
        ("iso-8859-1", b"", "ISO-8859-1"),
    ],
)
def test_encodings(tmp_path: Path, codec: str, bom: bytes, declared: str) -> None:
    path = _write(tmp_path, bom + SMALL.format(enc=declared, word="caf\u00e9").encode(codec))
    report = read_junit(path)
    assert [c.name for c in report.cases] == ["test_caf\u00e9", "test_b"]
    assert report.totals.failed == 1


def test_invalid_utf16_is_refused(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + SMALL.format(enc="UTF-16", word="x").encode("utf-16-le")
    assert "not valid UTF-16-LE" in _refusal(_write(tmp_path, data + b"\x00\xd8\x00\x00" * 40000))
    cut = codecs.BOM_UTF16_LE + "<testsuite>\ud800".encode("utf-16-le", "surrogatepass")
    assert "not valid UTF-16-LE" in _refusal(_write(tmp_path, cut, "short.xml"))


def test_undecodable_utf8_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, b'<testsuite>\n<testcase name="caf\xe9"/></testsuite>')
    assert _refusal(path).startswith("not well-formed XML at line 2, column ")


# --- broken and hostile input -----------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
def test_empty_files_are_refused(tmp_path: Path, data: bytes) -> None:
    assert (
        _refusal(_write(tmp_path, data)) == "empty file (did the test run crash before writing it?)"
    )


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert _refusal(tmp_path / "nope.xml").startswith("cannot be read (No such file")
    assert _refusal(tmp_path).startswith("cannot be read (Is a directory")


@pytest.mark.parametrize(
    ("data", "root"),
    [
        ('<?xml version="1.0"?><test-run id="2"><test-suite/></test-run>', "test-run"),
        (
            "<TestRun xmlns='http://microsoft.com/schemas/VisualStudio/TeamTest/2010'/>",
            'TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"',
        ),
        ("<assemblies><assembly/></assemblies>", "assemblies"),
        (
            '<testsuites xmlns="http://check.sourceforge.net/ns"><suite/></testsuites>',
            'testsuites xmlns="http://check.sourceforge.net/ns"',
        ),
        ("<testcase name='lonely'/>", "testcase"),
    ],
)
def test_native_non_junit_roots_are_refused(tmp_path: Path, data: str, root: str) -> None:
    assert _refusal(_write(tmp_path, data)) == f"not JUnit XML: root element <{root}>"


def test_non_junit_root_behind_a_long_prolog_is_refused_by_the_parser(tmp_path: Path) -> None:
    comment = "<!--" + "x" * 70_000 + "-->"
    path = _write(tmp_path, f"{comment}<x:results xmlns:x='urn:x'><testcase/></x:results>")
    assert _refusal(path) == 'not JUnit XML: root element <results xmlns="urn:x">'
    path = _write(tmp_path, f"{comment}<results><testcase/></results>", "b.xml")
    assert _refusal(path) == "not JUnit XML: root element <results>"
    path = _write(tmp_path, f"{comment}<results/>", "c.xml")
    assert _refusal(path) == "not JUnit XML: root element <results>"


def test_not_xml_at_all(tmp_path: Path) -> None:
    assert _refusal(_write(tmp_path, "bacon\n")) == (
        "not well-formed XML at line 1, column 1: Start tag expected, '<' not found"
    )


def test_malformed_in_the_middle_is_refused_even_with_salvage(tmp_path: Path) -> None:
    body = '<testcase name="a"/>' * 5000
    path = _write(tmp_path, f'<testsuite>{body}<testcase name="<b>"/>{body}</testsuite>')
    message = _refusal(path, salvage=True)
    assert message.startswith("not well-formed XML at line 1, column ")
    assert "Unescaped '<' not allowed in attributes values" in message


def test_extra_content_after_the_root_is_not_a_truncation(tmp_path: Path) -> None:
    path = _write(tmp_path, '<testsuite><testcase name="a"/></testsuite><testsuite/>')
    message = _refusal(path, salvage=True)
    assert "truncated" not in message
    assert "Extra content at the end of the document" in message


def test_truncated_file_refused_or_salvaged(tmp_path: Path) -> None:
    full = SMALL.format(enc="utf-8", word="a")
    path = _write(tmp_path, full[: full.index("<failure")])
    assert _refusal(path) == "not well-formed XML at line 4, column 62 (truncated file?)"
    report = read_junit(path, salvage=True)
    assert report.salvaged
    assert [c.name for c in report.cases] == ["test_a"]
    assert report.time is None
    assert report.timestamp == "2026-11-21T05:00:00"
    complete = read_junit(_write(tmp_path, full, "full.xml"), salvage=True)
    assert not complete.salvaged
    assert complete.time == 0.5


def test_truncated_before_the_root_has_nothing_to_salvage(tmp_path: Path) -> None:
    path = _write(tmp_path, '<?xml version="1.0"?>\n<testsui')
    assert _refusal(path, salvage=True).endswith("(truncated file?)")


def test_truncated_inside_a_big_file_salvages_complete_cases(tmp_path: Path) -> None:
    cases = "".join(f'<testcase classname="t" name="c{i}" time="0.1"/>' for i in range(3_000))
    path = _write(tmp_path, f'<testsuites time="9"><testsuite name="s">{cases}<testcase name="half')
    report = read_junit(path, salvage=True)
    assert report.salvaged
    assert len(report.cases) == 3_000
    assert report.time == 9.0


def test_billion_laughs_is_refused_before_parsing(tmp_path: Path) -> None:
    lol = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    data = f'<?xml version="1.0"?>\n<!DOCTYPE testsuite [\n{chr(10).join(lol)}\n]>\n' + (
        '<testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite>'
    )
    message = _refusal(_write(tmp_path, data))
    assert message.startswith("declares entities (<!ENTITY ...>) before its root element")


def test_external_entities_are_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        '<testsuite><testcase name="x"><failure message="&xxe;">&xxe;</failure></testcase>'
        "</testsuite>"
    )
    message = _refusal(_write(tmp_path, data))
    assert "TOP-SECRET" not in message
    assert message.startswith("declares entities")
    parameter = f'<!ENTITY % remote SYSTEM "{secret.as_uri()}">\n%remote;\n<testsuite/>'
    assert _refusal(_write(tmp_path, parameter, "p.xml")).startswith("declares entities")


def test_plain_doctype_is_refused_too(tmp_path: Path) -> None:
    path = _write(
        tmp_path, '<!DOCTYPE testsuite SYSTEM "http://example.invalid/junit.dtd"><testsuite/>'
    )
    assert _refusal(path).startswith("declares a DOCTYPE before its root element")


def test_doctype_hidden_behind_a_long_prolog_is_still_refused(tmp_path: Path) -> None:
    comment = "<!--" + "x" * 70_000 + "-->"
    path = _write(
        tmp_path, f'{comment}<!DOCTYPE testsuite><testsuite><testcase name="a"/></testsuite>'
    )
    assert _refusal(path) == "declares a DOCTYPE; refused (entities are never processed)"


def test_doctype_text_inside_cdata_is_just_text(tmp_path: Path) -> None:
    data = (
        '<testsuite><testcase name="a"><system-out><![CDATA[<!DOCTYPE html>]]></system-out>'
        "</testcase></testsuite>"
    )
    assert read_junit(_write(tmp_path, data)).totals.passed == 1


def test_size_limit_refuses_without_reading(tmp_path: Path) -> None:
    path = _write(tmp_path, SMALL.format(enc="utf-8", word="a"))
    message = _refusal(path, max_bytes=100)
    assert "MiB is over the" in message
    assert "refused unread" in message
    assert junit.MAX_BYTES == 256 * 1024 * 1024
    assert read_junit(path, max_bytes=10_000).totals.tests == 2


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """A FIFO in reports/junit/ would block a reader forever (issue 15): refused unopened."""
    import os

    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    assert _refusal(fifo) == "a FIFO, not a regular file; refused"


def test_wide_file_over_the_limit_while_streaming(tmp_path: Path) -> None:
    body = "<testsuite>" + '<testcase name="a"/>' * 3_000 + "</testsuite>"
    path = _write(tmp_path, codecs.BOM_UTF16_LE + body.encode("utf-16-le"))
    assert read_junit(path).totals.tests == 3_000
    assert "MiB is over the" in _refusal(path, max_bytes=len(body) + 10)


def test_cases_directly_under_testsuites(tmp_path: Path) -> None:
    path = _write(tmp_path, '<testsuites><testcase classname="test_m" name="t"/></testsuites>')
    (case,) = read_junit(path).cases
    assert (case.node_id, case.suite) == ("test_m.py::t", None)


def test_surefire_recognized_by_its_attempts_alone(tmp_path: Path) -> None:
    path = _write(
        tmp_path, '<testsuite><testcase name="t"><flakyFailure message="m"/></testcase></testsuite>'
    )
    report = read_junit(path)
    assert report.producer == "Maven Surefire"
    assert report.cases[0].flaky_in_run


def test_out_of_range_repeat_like_suffixes_are_names(tmp_path: Path) -> None:
    path = _write(
        tmp_path, '<testsuite><testcase name="t[0-2]"/><testcase name="t[3-2]"/></testsuite>'
    )
    assert [(c.name, c.repetition) for c in read_junit(path).cases] == [
        ("t[0-2]", None),
        ("t[3-2]", None),
    ]


def test_a_caller_s_disabled_gc_stays_disabled(tmp_path: Path) -> None:
    import gc

    path = _write(tmp_path, SMALL.format(enc="utf-8", word="a"))
    gc.disable()
    try:
        read_junit(path)
        assert not gc.isenabled()
    finally:
        gc.enable()
    read_junit(path)
    assert gc.isenabled()


def test_message_text_longer_than_a_chunk(tmp_path: Path) -> None:
    trace = "\n  first real line\n" + "x" * 100_000 + "\n"
    path = _write(
        tmp_path, f'<testsuite><testcase name="t"><error>{trace}</error></testcase></testsuite>'
    )
    (case,) = read_junit(path).cases
    assert (case.outcome, case.message) == (Outcome.ERROR, "first real line")


def test_empty_status_attribute_is_no_outcome(tmp_path: Path) -> None:
    path = _write(tmp_path, '<testsuite><testcase name="t" status="" result=""/></testsuite>')
    assert read_junit(path).cases[0].outcome is Outcome.PASSED


@pytest.mark.parametrize("declared", ["utf-16", "UTF-16LE", "unicode", "utf-32"])
def test_utf8_bytes_declared_utf16_read_as_utf8(tmp_path: Path, declared: str) -> None:
    path = _write(tmp_path, SMALL.format(enc=declared, word="caf\u00e9"))
    assert [c.name for c in read_junit(path).cases] == ["test_caf\u00e9", "test_b"]


def test_escaped_ampersands_read_as_the_characters_they_escape(tmp_path: Path) -> None:
    # libxml2 in SAX mode without entity substitution handed `&amp;` in attributes over as `&#38;`.
    data = (
        '<testsuite name="a &amp; b"><testcase classname="C" name="t[&amp;&lt;&quot;]">'
        '<failure message="x &amp; y &#38; z"/></testcase>'
        '<testcase classname="C" name="u"><error>one &amp; two\n</error></testcase></testsuite>'
    )
    first, second = read_junit(_write(tmp_path, data)).cases
    assert (first.name, first.node_id, first.message) == ('t[&<"]', 'C::t[&<"]', "x & y & z")
    assert first.suite == "a & b"
    assert second.message == "one & two"


def test_cases_are_dropped_from_the_tree_as_they_are_read(tmp_path: Path) -> None:
    """Every 256th case purges the ones before it; what stays is read the same way."""
    cases = "".join(
        f'<testcase classname="C" name="t{i}" time="0.5"><system-out>{"x" * 100}</system-out>'
        f"{'<failure>boom</failure>' if i % 97 == 0 else ''}</testcase>"
        for i in range(1_000)
    )
    go = '<properties><property name="go.version" value="1"/></properties>'
    data = f'<testsuite name="s">{go}{cases}<error message="setup"/></testsuite>'
    report = read_junit(_write(tmp_path, data))
    assert [c.name for c in report.cases[:-1]] == [f"t{i}" for i in range(1_000)]
    assert report.totals.failed == 11
    assert report.totals.errors == 1  # the suite's own <error>, after 1,000 purged cases
    assert report.producer == "go-junit-report"  # the properties survive the purge
    assert report.totals.seconds == 500.0


def test_nested_testsuites_roots_do_not_end_the_file(tmp_path: Path) -> None:
    data = (
        '<testsuites time="9"><testsuites time="1"><testsuite name="s" time="2">'
        '<testcase name="a" time="1"/></testsuite></testsuites>'
        '<testsuite name="t" time="3"><testcase name="b"/></testsuite></testsuites>'
    )
    report = read_junit(_write(tmp_path, data))
    assert [(c.name, c.suite) for c in report.cases] == [("a", "s"), ("b", "t")]
    assert report.time == 9.0
