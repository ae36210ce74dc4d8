"""On any bytes at all, the reader returns a report or raises `InputError`: nothing else, ever."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testgate.errors import InputError
from testgate.model import JUnitReport
from testgate.read.junit import read_junit

VALID = (
    '<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="pytest tests">'
    '<testsuite name="pytest" time="0.3">'
    + "".join(
        f'<testcase classname="tests.test_m" name="test_{i}[{i}-3]" time="0.1">'
        + ("<failure message='x'>tb</failure>" if i == 2 else "")
        + "</testcase>"
        for i in (1, 2, 3)
    )
    + "</testsuite></testsuites>\n"
).encode()

FRAGMENTS = [
    b"<testsuites>",
    b"</testsuites>",
    b"<testsuite name='s'>",
    b"</testsuite>",
    b"<testcase name='t' time='1,5'/>",
    b"<testcase>",
    b"</testcase>",
    b"<failure/>",
    b"<skipped type='pytest.xfail'/>",
    b"<!DOCTYPE x>",
    b"<!ENTITY a 'b'>",
    b"&a;",
    b"<![CDATA[",
    b"]]>",
    b"<?xml version='1.0' encoding='utf-16'?>",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\x00",
    b"<!--",
    b"-->",
    b"<",
    b">",
    b"'",
    b'"',
    b"&",
    b"\xe9",
    b" ",
    b"\n",
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property") / "junit.xml"


def _read(path: Path, data: bytes, *, salvage: bool = False) -> JUnitReport | None:
    path.write_bytes(data)
    refusal = None
    try:
        return read_junit(path, salvage=salvage)
    except InputError as exc:
        refusal = exc.message
    assert "\n" not in refusal
    assert refusal.startswith(f"{path}: ")
    return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(b"".join),
        st.tuples(st.integers(0, len(VALID)), st.binary(max_size=20)).map(
            lambda cut: VALID[: cut[0]] + cut[1]
        ),
    ),
    salvage=st.booleans(),
)
def test_any_bytes_give_a_report_or_an_input_error(
    scratch: Path, data: bytes, salvage: bool
) -> None:
    report = _read(scratch, data, salvage=salvage)
    if report is not None:
        totals = report.totals
        assert totals.passed + totals.failed + totals.errors + totals.skipped == totals.tests
        assert all(case.duration >= 0 for case in report.cases)


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(0, VALID.rindex(b">") - 1), wide=st.booleans())
def test_a_cut_file_salvages_a_prefix_of_the_cases(scratch: Path, cut: int, wide: bool) -> None:
    full = _read(scratch, VALID)
    assert full is not None
    data = VALID[:cut]
    if wide:
        data = codecs.BOM_UTF16_LE + data.decode("utf-8", "ignore").encode("utf-16-le")
    report = _read(scratch, data, salvage=True)
    if report is not None:
        assert report.salvaged
        names = [c.name for c in report.cases]
        assert names == [c.name for c in full.cases][: len(names)]
