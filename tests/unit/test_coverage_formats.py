"""coverage.py JSON and Cobertura XML (from coverage.py and from other languages' tools),
content sniffing, and every way such a file can be broken or hostile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testgate.errors import InputError
from testgate.model import display_percent
from testgate.read import cobertura, coverage_json
from testgate.read.coverage import package_totals, read_coverage

# As gcovr (C/C++) writes it: absolute <source>, paths relative to it, branch conditions,
# <conditions> children, a file split over two classes.
GCOVR = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage line-rate="0.6" branch-rate="0.5" lines-covered="6" lines-valid="10"
          branches-covered="3" branches-valid="6" complexity="0.0"
          timestamp="1700000000" version="gcovr 7.2">
  <sources><source>{source}</source></sources>
  <packages>
    <package name="src" line-rate="0.6" branch-rate="0.5" complexity="0.0">
      <classes>
        <class name="calc_cpp" filename="src/calc.cpp" line-rate="0.6" branch-rate="0.5"
               complexity="0.0">
          <methods>
            <method name="add" signature="" line-rate="1" branch-rate="1">
              <lines><line number="3" hits="99"/></lines>
            </method>
          </methods>
          <lines>
            <line number="3" hits="4" branch="false"/>
            <line number="4" hits="4" branch="true" condition-coverage="50% (1/2)">
              <conditions><condition number="0" type="jump" coverage="50%"/></conditions>
            </line>
            <line number="5" hits="4" branch="false"/>
            <line number="7" hits="0" branch="true" condition-coverage="0% (0/2)"/>
            <line number="8" hits="0" branch="false"/>
          </lines>
        </class>
        <class name="calc_cpp_inner" filename="src/calc.cpp" line-rate="1" branch-rate="1"
               complexity="0.0">
          <lines>
            <line number="3" hits="1"/>
            <line number="8" hits="2"/>
            <line number="10" hits="1" branch="true" condition-coverage="100% (2/2)"/>
            <line number="11" hits="0" branch="true"/>
          </lines>
        </class>
        <class name="util_h" filename="include/util.h" line-rate="0.5" branch-rate="0"
               complexity="0.0">
          <lines>
            <line number="1" hits="1"/>
            <line number="2" hits="0"/>
            <line number="3" hits="0"/>
            <line number="4" hits="1"/>
          </lines>
        </class>
      </classes>
    </package>
  </packages>
</coverage>
"""


@pytest.fixture
def cpp_project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "include").mkdir()
    (tmp_path / "src" / "calc.cpp").write_text("// c++\n")
    (tmp_path / "include" / "util.h").write_text("// h\n")
    return tmp_path


def test_cobertura_of_another_language_is_read(cpp_project: Path, tmp_path: Path) -> None:
    report = tmp_path / "gcovr.xml"
    report.write_text(GCOVR.format(source=cpp_project))
    data = read_coverage(report, root=cpp_project)
    calc = data.files["src/calc.cpp"]
    # line 8 is missed by one class and hit by the other: hit. Method lines don't count.
    assert calc.executable_lines == {3, 4, 5, 7, 8, 10, 11}
    assert calc.missing_lines == (7, 11)  # 11: a branch line without conditions
    assert (calc.branches, calc.covered_branches, calc.partial_branches) == (6, 3, 1)
    assert calc.missing_branches == ((4, 0), (7, 0), (7, 0))  # destinations unknown: 0
    util = data.files["include/util.h"]
    assert (util.statements, util.missing_lines, util.branches) == (4, (2, 3), 0)
    assert data.has_branches
    assert data.precision == 0  # no coverage.py configuration in a C++ project
    assert (data.totals.statements, data.totals.missing) == (11, 4)
    # (7 covered lines + 3 covered branches) / (11 + 6)
    assert display_percent(data.totals.percent, 0) == "59"
    assert package_totals(data)["src"].statements == 7
    assert data.source == str(report)


def test_cobertura_paths_resolve_through_relative_sources_and_remap(tmp_path: Path) -> None:
    (tmp_path / "app" / "lib").mkdir(parents=True)
    (tmp_path / "app" / "lib" / "a.js").write_text("")
    (tmp_path / "pyproject.toml").write_text("[tool.coverage.report]\nprecision = 1\n")
    report = tmp_path / "istanbul.xml"
    report.write_text(
        '<coverage lines-valid="3"><sources><source>app</source><source>/ci/build/app</source>'
        '</sources><packages><package name="lib"><classes>'
        '<class name="a.js" filename="lib/a.js"><lines>'
        '<line number="1" hits="1" branch="false"/><line number="2" hits="0"/></lines></class>'
        '<class name="b.js" filename="/ci/build/app/lib/gone.js"><lines>'
        '<line number="1" hits="3"/></lines></class>'
        '<class name="c.js" filename="c.js"><lines><line number="1" hits="1"/></lines></class>'
        "</classes></package></packages></coverage>"
    )
    data = read_coverage(report, root=tmp_path)
    assert sorted(data.files) == ["/ci/build/app/lib/gone.js", "app/c.js", "app/lib/a.js"]
    assert data.precision == 1  # the project's coverage configuration
    assert not data.has_branches
    assert display_percent(data.totals.percent, 1) == "75.0"


def test_cobertura_without_sources_keeps_names(tmp_path: Path) -> None:
    report = tmp_path / "c.xml"
    report.write_text(
        '<coverage><packages><package><classes><class filename="C:\\w\\x.cs"><lines>'
        '<line number="2" hits="1" branch="True" condition-coverage="100% (4/4)"'
        ' missing-branches=""/>'
        '</lines></class><class filename="rel/y.cs"><lines/></class>'
        "</classes></package></packages></coverage>"
    )
    data = read_coverage(report, root=tmp_path)
    assert sorted(data.files) == ["C:/w/x.cs", "rel/y.cs"]
    assert data.files["C:/w/x.cs"].branches == 4
    assert data.files["rel/y.cs"].statements == 0


def test_coverage_py_missing_branch_destinations_are_kept(tmp_path: Path) -> None:
    report = tmp_path / "c.xml"
    report.write_text(
        '<coverage branches-valid="4"><packages><package><classes><class filename="m.py">'
        "<lines>"
        '<line number="2" hits="1" branch="true" condition-coverage="50% (1/2)"'
        ' missing-branches="5"/>'
        '<line number="3" hits="1" branch="true" condition-coverage="0% (0/2)"'
        ' missing-branches="4,exit"/>'
        "</lines></class></classes></package></packages></coverage>"
    )
    data = read_coverage(report, root=tmp_path)
    assert data.files["m.py"].missing_branches == ((2, 5), (3, -1), (3, 4))
    assert data.files["m.py"].partial_branches == 2


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<testsuites/>", "not Cobertura XML: root element <testsuites>"),
        ("<coverage/>", "no <class> elements"),
        ("<coverage><class filename='a'><lines><line number='3'", "not well-formed XML at line 1"),
        ("<coverage>&undefined;</coverage>", "not well-formed XML ("),
        ("<coverage branches-valid='x'/>", "branches-valid='x' is not a number"),
        ("<coverage><class name='k'/></coverage>", "<class name='k'> without a filename"),
        (
            "<coverage><class filename='a'><lines><line number='x' hits='1'/></lines></class>"
            "</coverage>",
            "number='x' is not a number",
        ),
        (
            "<coverage><class filename='a'><lines><line number='0' hits='1'/></lines></class>"
            "</coverage>",
            "line numbers start at 1",
        ),
        (
            "<coverage><class filename='a'><lines><line number='2' hits='-1'/></lines></class>"
            "</coverage>",
            "hits='-1' is negative",
        ),
        (
            "<coverage><class filename='a'><lines><line number='2' hits='1' branch='true'"
            " condition-coverage='150% (3/2)'/></lines></class></coverage>",
            "takes more than all",
        ),
    ],
)
def test_broken_cobertura_is_one_line_naming_the_file(
    tmp_path: Path, xml: str, message: str
) -> None:
    report = tmp_path / "cov.xml"
    report.write_text(xml)
    with pytest.raises(InputError) as caught:
        read_coverage(report, root=tmp_path)
    assert caught.value.message.startswith(f"{report}: ")
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_external_entities_are_never_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    report = tmp_path / "xxe.xml"
    report.write_text(
        f'<?xml version="1.0"?><!DOCTYPE coverage [<!ENTITY xxe SYSTEM "file://{secret}">'
        '<!ENTITY net SYSTEM "http://127.0.0.1:9/x">]>'
        "<coverage><sources><source>&xxe;&net;</source></sources><packages><package><classes>"
        '<class filename="a.py"><lines><line number="1" hits="1"/></lines></class>'
        "</classes></package></packages></coverage>"
    )
    data = read_coverage(report, root=tmp_path)
    assert list(data.files) == ["a.py"]
    assert "TOP-SECRET" not in repr(data)


def test_entity_expansion_never_happens(tmp_path: Path) -> None:
    lol = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10)
    )
    report = tmp_path / "bomb.xml"
    report.write_text(
        f"<!DOCTYPE coverage [{lol}]><coverage><sources><source>&l9;</source></sources>"
        '<packages><package><classes><class filename="a.py"><lines/></class></classes>'
        "</package></packages></coverage>"
    )
    with pytest.raises(InputError, match=r"bomb.xml: refused at line 1: entity expansion"):
        read_coverage(report, root=tmp_path)


def test_oversized_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cobertura, "MAX_BYTES", 10)
    monkeypatch.setattr(coverage_json, "MAX_BYTES", 10)
    for name, text in (("c.xml", "<coverage>" + " " * 20), ("c.json", "{" + " " * 20)):
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=r"over the 10 bytes limit; refused unread"):
            read_coverage(tmp_path / name, root=tmp_path)


# -- coverage.py JSON -----------------------------------------------------------------


def json_report(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "meta": {"format": 3, "version": "7.6.1", "branch_coverage": True},
        "files": {
            "src/pkg/m.py": {
                "executed_lines": [1, 2, 3, 9],
                "summary": {
                    "covered_lines": 3,
                    "num_statements": 4,
                    "missing_lines": 1,
                    "excluded_lines": 1,
                    "num_branches": 2,
                    "num_partial_branches": 1,
                    "covered_branches": 1,
                    "missing_branches": 1,
                },
                "missing_lines": [4],
                "excluded_lines": [9],
                "executed_branches": [[2, 3]],
                "missing_branches": [[2, 4]],
            }
        },
        "totals": {
            "covered_lines": 3,
            "num_statements": 4,
            "percent_covered": 66.666666,
            "percent_covered_display": "66.667",
            "missing_lines": 1,
            "excluded_lines": 1,
            "num_branches": 2,
        },
    }
    doc.update(over)
    return doc


def test_json_report_is_read(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "m.py").write_text("")
    report = tmp_path / "coverage.json"
    report.write_text("\ufeff" + json.dumps(json_report()), encoding="utf-8")
    data = read_coverage(report, root=tmp_path)
    m = data.files["src/pkg/m.py"]
    assert (m.statements, m.missing_lines, m.excluded) == (4, (4,), 1)
    assert m.executable_lines == {1, 2, 3, 4}  # the executed excluded line 9 is no statement
    assert (m.branches, m.missing_branches, m.partial_branches) == (2, ((2, 4),), 1)
    assert data.precision == 3
    assert data.has_branches
    assert display_percent(data.totals.percent, data.precision) == "66.667"


def test_json_report_without_branches_or_display_uses_the_project_precision(
    tmp_path: Path,
) -> None:
    (tmp_path / ".coveragerc").write_text("[report]\nprecision = 1\n")
    doc = {
        "meta": {"format": 2},
        "files": {"/elsewhere/m.py": {"summary": {"num_statements": 2}, "missing_lines": []}},
        "totals": {"num_statements": 2, "missing_lines": 0},
    }
    report = tmp_path / "c.json"
    report.write_text(json.dumps(doc))
    data = read_coverage(report, root=tmp_path)
    assert data.precision == 1
    assert not data.has_branches
    assert data.files["/elsewhere/m.py"].branches == 0


def test_json_precision_zero(tmp_path: Path) -> None:
    doc = json_report()
    doc["totals"]["percent_covered_display"] = "67"
    doc["meta"] = {}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    data = read_coverage(tmp_path / "c.json", root=tmp_path)
    assert (data.precision, data.has_branches) == (0, True)


@pytest.mark.parametrize(
    ("percent", "precision", "shown"),
    [
        (0.0, 2, "0.00"),
        (0.001, 2, "0.01"),  # 1 of 100,000 lines covered: some coverage is never shown as 0
        (0.4, 0, "1"),
        (99.999, 2, "99.99"),  # one line missing is never shown as 100
        (99.6, 0, "99"),
        (100.0, 1, "100.0"),
        (66.666, 1, "66.7"),
    ],
)
def test_percent_displayed_as_coverage_py_rounds(
    percent: float, precision: int, shown: str
) -> None:
    assert display_percent(percent, precision) == shown


def _break(path: str, value: Any) -> dict[str, Any]:
    doc = json_report()
    *parents, last = path.split("|")
    node = doc
    for key in parents:
        node = node[key]
    node[last] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "the top level is not an object"),
        ({"meta": {}}, "files is missing or not an object"),
        (_break("files|src/pkg/m.py", 3), "files['src/pkg/m.py'] is missing or not an object"),
        (_break("files|src/pkg/m.py|missing_lines", [0]), "missing_lines is not a list of line"),
        (_break("files|src/pkg/m.py|missing_lines", "4"), "missing_lines is not a list of line"),
        (_break("files|src/pkg/m.py|missing_branches", [[1]]), "[from, to] pairs"),
        (_break("files|src/pkg/m.py|summary|num_statements", True), "num_statements is missing"),
        (_break("files|src/pkg/m.py|summary|num_branches", -1), "num_branches is missing"),
        (_break("totals|num_statements", 5), "its totals disagree with its files"),
        (_break("totals|missing_lines", 0), "its totals disagree with its files"),
    ],
)
def test_broken_json_reports_are_refused(tmp_path: Path, doc: Any, message: str) -> None:
    report = tmp_path / "coverage.json"
    report.write_text(json.dumps(doc))
    with pytest.raises(InputError) as caught:
        read_coverage(report, root=tmp_path)
    assert caught.value.message.startswith(f"{report}: ")
    assert message in caught.value.message


def test_truncated_json_names_line_and_column(tmp_path: Path) -> None:
    report = tmp_path / "coverage.json"
    report.write_text(json.dumps(json_report(), indent=1)[:300])
    with pytest.raises(InputError, match=r"not valid JSON at line \d+, column \d+ \(truncated"):
        read_coverage(report, root=tmp_path)


def test_json_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    report = tmp_path / "coverage.json"
    report.write_bytes(b'{"files": "\xff"}')
    with pytest.raises(InputError, match="not UTF-8 text"):
        read_coverage(report, root=tmp_path)


# -- sniffing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file (an interrupted run?); run the tests with coverage first"),
        (b"  \n\t", "empty file"),
        (b"!coverage.py: This is a private format", "coverage.py < 5"),
        (b"\x00\x01garbage", "not coverage data (expected a .coverage data file"),
        (b"name,stmts\n", "not coverage data"),
    ],
)
def test_sniffing_refuses_what_is_not_coverage(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / ".coverage"
    path.write_bytes(content)
    with pytest.raises(InputError, match=rf"^{path}: .*") as caught:
        read_coverage(path, root=tmp_path)
    assert message in caught.value.message


def test_missing_file_folder_and_unopenable_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read it \(File name too long\)"):
        read_coverage(tmp_path / ("x" * 300), root=tmp_path)
    with pytest.raises(InputError, match=r"no such file; run the tests with coverage first"):
        read_coverage(tmp_path / "nope.json", root=tmp_path)
    with pytest.raises(InputError, match="is a folder, not a coverage file"):
        read_coverage(tmp_path, root=tmp_path)


def test_default_root_is_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("")
    doc = json_report()
    doc["files"] = {"/ci/x/pkg/m.py": doc["files"]["src/pkg/m.py"]}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)
    assert list(read_coverage("c.json").files) == ["pkg/m.py"]
