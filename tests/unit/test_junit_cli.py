"""`testgate junit`: every file reported, then exit 2 if any could not be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testgate import __version__
from testgate.cli import main

GOOD = (
    '<testsuites><testsuite name="s" time="1.25">'
    '<testcase classname="tests.test_a" name="test_ok" time="0.5"/>'
    '<testcase classname="tests.test_a" name="test_bad" time="0.5"><failure/></testcase>'
    '<testcase classname="tests.test_a" name="test_err"><error/></testcase>'
    '<testcase classname="tests.test_a" name="test_skip"><skipped/></testcase>'
    '<testcase classname="tests.test_a" name="test_xf"><skipped type="pytest.xfail"/></testcase>'
    "</testsuite></testsuites>"
)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.chdir(tmp_path)
    Path("unit.xml").write_text(GOOD, encoding="utf-8")
    Path("broken.xml").write_text(GOOD[:-30], encoding="utf-8")
    return "unit.xml", "broken.xml"


def test_json_is_format_2_with_xfailed_apart(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    good, broken = files
    assert main(["junit", good, broken, "--json"]) == 2
    out, err = capsys.readouterr()
    totals = {"tests": 5, "passed": 1, "failed": 1, "errors": 1, "skipped": 1, "xfailed": 1}
    assert json.loads(out) == {
        "meta": {"format": 2, "tool": "testgate", "version": __version__},
        "files": [
            {"path": good, "ok": True, "error": None, "totals": totals},
            {
                "path": broken,
                "ok": False,
                "error": f"{broken}: not well-formed XML at line 1, column 419 (truncated file?)",
                "totals": None,
            },
        ],
        "totals": totals,
    }
    assert err == "testgate: 1 of 2 file(s) could not be read\n"


def test_table_is_aligned_and_errors_take_the_row(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    good, broken = files
    assert main(["junit", good, broken, good, "--root", "."]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "file        tests  passed  failed  errors  skipped  xfailed  seconds",
        "unit.xml        5       1       1       1        1        1     1.25",
        "broken.xml  error: not well-formed XML at line 1, column 419 (truncated file?)",
        "unit.xml        5       1       1       1        1        1     1.25",
        "total          10       2       2       2        2        2     2.50",
    ]


def test_all_read_exits_zero(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["junit", files[0]]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1].split() == ["total", "5", "1", "1", "1", "1", "1", "1.25"]
    assert err == ""


def test_no_files_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["junit"]) == 2
    assert "the following arguments are required: FILE" in capsys.readouterr().err
